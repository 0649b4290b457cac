import {
  checkSummary,
  currentFiles,
  findingLabel,
  formProblems,
  mayReview,
  myReview,
  releasable,
  releaseBody,
  replaceRelease,
  tableShape,
  toReview,
  waitingFiles
} from '../releasing';
import type { IFinding, IOutput, IRelease, IReleaseFile } from '../types';

const SMALL: IFinding = {
  rule: 'small_number',
  verdict: 'flag',
  message: "1 count from 1 to 10 (row 5 'with_condition')",
  cells: [[5, 'with_condition']]
};
const COLUMN: IFinding = {
  rule: 'forbidden_column',
  verdict: 'refuse',
  message: "the column 'patient_id' identifies people: drop it before release"
};

function output(path: string, privacy_level = 'moderately_sensitive'): IOutput {
  return { path, size: 10, sha256: '0'.repeat(64), privacy_level };
}

function file(id: string, overrides: Partial<IReleaseFile> = {}): IReleaseFile {
  return {
    id,
    group: 'tables',
    path: `output/${id}.csv`,
    job: 'j1',
    sha256: '0'.repeat(64),
    size: 10,
    state: 'requested',
    uploaded: false,
    reviews: [],
    comments: [],
    ...overrides
  };
}

function release(id: string, files: IReleaseFile[], overrides: Partial<IRelease> = {}): IRelease {
  return {
    id,
    workspace: 'sample',
    backend: 'tpp',
    state: 'requested',
    created_by: 'dev',
    created_at: '2026-01-01T10:00:00Z',
    published_at: null,
    files,
    ...overrides
  };
}

describe('who may review and what may be released', () => {
  it('only output checkers review', () => {
    expect(mayReview({ username: 'c', roles: ['output_checker'] })).toBe(true);
    expect(mayReview({ username: 'p', roles: ['output_publisher'] })).toBe(false);
    expect(mayReview(null)).toBe(false);
  });

  it('offers only moderately sensitive outputs', () => {
    const outputs = [output('output/t.csv'), output('output/d.csv', 'highly_sensitive')];
    expect(releasable(outputs).map(o => o.path)).toEqual(['output/t.csv']);
  });
});

describe('what the rules found', () => {
  it('says a refusal, a flag and a pass in words', () => {
    expect(checkSummary([]).text).toBe('Passes the rules');
    expect(checkSummary([SMALL])).toEqual({
      refusals: 0,
      flags: 1,
      text: 'Flagged: 1 finding for the checkers'
    });
    expect(checkSummary([SMALL, COLUMN, COLUMN])).toEqual({
      refusals: 2,
      flags: 1,
      text: 'Refused: 2 rules not met'
    });
  });

  it('labels each finding with its verdict and rule', () => {
    expect(findingLabel(SMALL)).toBe(
      "Flagged (small numbers): 1 count from 1 to 10 (row 5 'with_condition')"
    );
    expect(findingLabel(COLUMN)).toMatch(/^Refused \(column\): the column 'patient_id'/);
    const unknown: IFinding = { rule: 'new_rule', verdict: 'flag', message: 'm' };
    expect(findingLabel(unknown)).toBe('Flagged (new_rule): m');
  });

  it("shows a table's shape, never its values", () => {
    const shape = tableShape({ rows: 7, columns: ['region', 'population'] });
    expect(shape).toBe('7 rows · region, population');
    expect(tableShape({ rows: 1, columns: [] })).toBe('1 row');
    expect(tableShape({ rows: null, columns: null })).toBe('');
  });
});

describe('the release request', () => {
  const form = { group: ' tables ', context: 'counts by region', disclosure: 'rounded to 5' };

  it('says what is missing before it can be sent', () => {
    expect(formProblems({ group: '', context: ' ', disclosure: '' }, [], [])).toEqual([
      'Choose the outputs to release.',
      'Name the group of files.',
      'Say what the files show (context).',
      'Say how small numbers were handled (disclosure control).'
    ]);
    expect(formProblems(form, ['output/t.csv'], [undefined])).toEqual([]);
  });

  it('cannot be sent with a file the rules refuse; a flag lets it go to the checkers', () => {
    const flagged = { path: 'output/t.csv', findings: [SMALL] };
    const refused = { path: 'output/p.csv', findings: [COLUMN] };
    expect(formProblems(form, ['output/t.csv'], [flagged])).toEqual([]);
    expect(formProblems(form, ['output/p.csv', 'output/t.csv'], [refused, flagged])).toEqual([
      'output/p.csv is refused by the rules: fix it and run its action again.'
    ]);
  });

  it('is one group of the job\'s chosen outputs, trimmed', () => {
    expect(releaseBody('sample', 'tpp', 'j1', ['output/t.csv'], form)).toEqual({
      workspace: 'sample',
      backend: 'tpp',
      groups: {
        tables: {
          context: 'counts by region',
          disclosure_control: 'rounded to 5',
          files: [{ job: 'j1', path: 'output/t.csv' }]
        }
      }
    });
  });
});

describe('the review', () => {
  const vote = (reviewer: string) => ({ reviewer, decision: 'approve' as const, comment: '' });

  it('waits for a checker on open files they have not voted on, never in their own request', () => {
    const r = release('r1', [
      file('a'),
      file('b', { state: 'in_review', reviews: [vote('checker1')] }),
      file('c', { state: 'in_review' }), // another checker voted: hidden from this one
      file('d', { state: 'approved', reviews: [vote('x'), vote('y')] }),
      file('e', { state: 'superseded' })
    ]);
    expect(waitingFiles(r, 'checker1').map(f => f.id)).toEqual(['a', 'c']);
    expect(waitingFiles(r, 'checker2').map(f => f.id)).toEqual(['a', 'b', 'c']);
    expect(waitingFiles(r, 'dev')).toEqual([]); // the author
    expect(myReview(r.files[1], 'checker1')?.decision).toBe('approve');
  });

  it('lists the releases with a file waiting, oldest first', () => {
    const done = release('r0', [file('a', { state: 'in_review', reviews: [vote('checker1')] })]);
    const newer = release('r2', [file('b')]);
    const older = release('r1', [file('c')]);
    const own = release('r3', [file('d')], { created_by: 'checker1' });
    expect(toReview([newer, done, own, older], 'checker1').map(r => r.id)).toEqual(['r1', 'r2']);
  });

  it('shows the files asked for now and replaces a release in place', () => {
    const r = release('r1', [
      file('a', { state: 'superseded' }),
      file('b'),
      file('c', { deleted: true })
    ]);
    expect(currentFiles(r).map(f => f.id)).toEqual(['b']);
    const updated = { ...r, state: 'released' };
    const list = replaceRelease([release('r0', []), r, release('r2', [])], updated);
    expect(list.map(x => [x.id, x.state])).toEqual([
      ['r0', 'requested'],
      ['r1', 'released'],
      ['r2', 'requested']
    ]);
  });
});
