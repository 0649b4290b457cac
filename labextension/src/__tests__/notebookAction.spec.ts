import {
  ADD_LABEL,
  buttonLabel,
  commitMessage,
  diffLines,
  entryBody,
  INotebookActionInfo,
  outputRows,
  overrides,
  parameterFields,
  parseValue,
  pathsToCommit,
  pushedSentence,
  RUN_LABEL,
  runBody,
  valueText
} from '../notebookAction';

const info = (is_action: boolean): INotebookActionInfo => ({
  path: 'analysis/explore.ipynb',
  is_action,
  actions: [],
  parameters: [],
  has_parameters_cell: false,
  problems: [],
  proposal: null
});

describe('the toolbar button', () => {
  it('says what a click does', () => {
    expect(buttonLabel(info(true))).toBe(RUN_LABEL);
    expect(buttonLabel(info(false))).toBe(ADD_LABEL);
    expect(buttonLabel(null)).toBe(RUN_LABEL); // not known yet: the usual case
  });
});

describe('parameter fields', () => {
  const parameters = [
    { name: 'region', default: 'all', kind: 'str' },
    { name: 'threshold', default: 5, kind: 'int' },
    { name: 'weights', default: [1, 2], kind: 'list' }
  ];

  it('start from the config, else the default, and show config the notebook does not declare', () => {
    const fields = parameterFields(parameters, { threshold: 10, extra: { a: 1 } });
    expect(fields.map(f => [f.name, f.text, f.source])).toEqual([
      ['region', 'all', 'default'],
      ['threshold', '10', 'config'],
      ['weights', '[1,2]', 'default'],
      ['extra', '{"a":1}', 'config']
    ]);
    expect(fields[3].kind).toBe('any');
  });

  it('send only what was changed, read as its kind', () => {
    const fields = parameterFields(parameters, { threshold: 10 });
    const texts = { region: 'north', threshold: '10', weights: '[1,2]' };
    expect(overrides(fields, texts)).toEqual({ values: { region: 'north' }, errors: {} });
    expect(overrides(fields, { ...texts, threshold: '7', weights: '[3]' }).values).toEqual({
      region: 'north',
      threshold: 7,
      weights: [3]
    });
    expect(overrides(fields, {})).toEqual({ values: {}, errors: {} });
  });

  it('say what to type when a value cannot be read as its kind', () => {
    const fields = parameterFields(parameters, {});
    const { values, errors } = overrides(fields, { threshold: '7.5', weights: '{"a": 1}' });
    expect(values).toEqual({});
    expect(errors).toEqual({
      threshold: 'threshold: type a whole number',
      weights: 'weights: type a JSON list, e.g. [1, 2]'
    });
  });

  it.each([
    ['str', ' a b ', ' a b '],
    ['int', '-3', -3],
    ['float', '2.5', 2.5],
    ['float', '2', 2],
    ['bool', 'true', true],
    ['bool', 'false', false],
    ['dict', '{"a": [1]}', { a: [1] }],
    ['any', '3', 3],
    ['any', 'null', null],
    ['any', 'north', 'north']
  ])('read %s %j as %j', (kind, text, value) => {
    expect(parseValue(text, kind)).toEqual({ value });
  });

  it.each([
    ['int', ''],
    ['int', '1e3'],
    ['float', 'x'],
    ['float', ''],
    ['bool', 'yes'],
    ['list', '{}'],
    ['dict', '[]'],
    ['dict', '{']
  ])('refuse %s %j', (kind, text) => {
    expect(parseValue(text, kind).error).toMatch(/^type /);
  });

  it('shows values as typed: strings bare, the rest as JSON', () => {
    expect(valueText('north')).toBe('north');
    expect(valueText(null)).toBe('null');
    expect(valueText(undefined)).toBe('null');
    expect(valueText(false)).toBe('false');
  });
});

describe('the job request', () => {
  it('carries overrides for its one action, or none', () => {
    expect(runBody('sample', 'tpp', 'explore', { region: 'north' })).toEqual({
      workspace: 'sample',
      backend: 'tpp',
      actions: ['explore'],
      force_run_dependencies: false,
      notify: true,
      parameters: { explore: { region: 'north' } }
    });
    expect(runBody('sample', 'tpp', 'explore', {}).parameters).toEqual({});
  });
});

describe('the proposed entry', () => {
  const outputs = {
    moderately_sensitive: { html: 'output/explore.html', table: 'output/t.csv' },
    highly_sensitive: { notebook: 'output/explore.ipynb' }
  };

  it('is edited as rows and read back', () => {
    const rows = outputRows(outputs);
    expect(rows).toEqual([
      { level: 'moderately_sensitive', name: 'html', pattern: 'output/explore.html' },
      { level: 'moderately_sensitive', name: 'table', pattern: 'output/t.csv' },
      { level: 'highly_sensitive', name: 'notebook', pattern: 'output/explore.ipynb' }
    ]);
    const edited = [...rows, { level: 'highly_sensitive', name: '', pattern: '' }];
    expect(entryBody('a.ipynb', ' explore ', 'generate_dataset, derive_measures generate_dataset', edited)).toEqual({
      body: {
        path: 'a.ipynb',
        name: 'explore',
        needs: ['generate_dataset', 'derive_measures'],
        outputs
      }
    });
    expect(entryBody('a.ipynb', 'explore', '  ', rows).body?.needs).toEqual([]);
  });

  it.each([
    ['', [{ level: 'highly_sensitive', name: 'a', pattern: 'a.csv' }], 'Give the action a name.'],
    ['x', [], 'Give at least one output: the notebook as HTML, say.'],
    ['x', [{ level: 'highly_sensitive', name: 'a', pattern: '' }], 'Give each output both a name and a file pattern.'],
    [
      'x',
      [
        { level: 'highly_sensitive', name: 'a', pattern: 'a.csv' },
        { level: 'highly_sensitive', name: 'a', pattern: 'b.csv' }
      ],
      'Two highly_sensitive outputs are named a: rename one.'
    ]
  ])('is refused with a sentence (name %j)', (name, rows, error) => {
    expect(entryBody('a.ipynb', name, '', rows)).toEqual({ error });
  });

  it('is committed with the notebook, in one message', () => {
    expect(commitMessage('explore')).toBe('Add explore as an action');
    expect(pathsToCommit('analysis/explore.ipynb')).toEqual(['project.yaml', 'analysis/explore.ipynb']);
    const result = { branch: 'main', commit: 'abcdef0123', committed: true, pushed: true, paths: [] };
    expect(pushedSentence(result)).toBe('Committed abcdef0 and pushed main: jobs can run it now.');
    expect(pushedSentence({ ...result, committed: false })).toBe(
      'Nothing new to commit and pushed main: jobs can run it now.'
    );
  });
});

describe('the diff', () => {
  it('has a kind per line', () => {
    const diff = '--- a/project.yaml\n+++ b/project.yaml\n@@ -1,2 +1,3 @@\n actions:\n+  explore:\n-  old:\n';
    expect(diffLines(diff).map(l => l.kind)).toEqual(['file', 'file', 'hunk', 'context', 'add', 'remove']);
  });
});
