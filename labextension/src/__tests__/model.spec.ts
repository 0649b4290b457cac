import {
  actionTree,
  applyEvent,
  emptyState,
  fileKind,
  fileTree,
  jobToFollow,
  LOG_LINES_KEPT,
  mergeLines,
  newlyFinished,
  problemLabel,
  requestState,
  sortedRequests,
  timeline,
  withLastStates,
  withNeeds,
  withRequests
} from '../model';
import type { IActionStatus, IJob, IJobRequest, IReleaseFile } from '../types';

function action(name: string, needs: string[] = [], last_state = {}): IActionStatus {
  return { name, needs, run: `python:v2 ${name}.py`, line: 1, outputs: {}, last_state };
}

function job(overrides: Partial<IJob> = {}): IJob {
  return {
    identifier: 'j1',
    job_request: 'r1',
    workspace: 'sample',
    backend: 'tpp',
    action: 'generate_dataset',
    state: 'pending',
    status_message: '',
    exit_code: null,
    needs: [],
    wait_for: [],
    runner: null,
    cancelled_by: null,
    created_at: '2026-01-01T10:00:00Z',
    started_at: null,
    completed_at: null,
    ...overrides
  };
}

function request(overrides: Partial<IJobRequest> = {}): IJobRequest {
  return {
    id: 'r1',
    workspace: 'sample',
    project: 'sample-study',
    backend: 'tpp',
    sha: 'a'.repeat(40),
    actions: ['generate_dataset'],
    force_run_dependencies: false,
    notify: true,
    state: 'pending',
    created_by: 'dev',
    created_at: '2026-01-01T10:00:00Z',
    jobs: [],
    ...overrides
  };
}

// the sample project: generate_dataset -> derive_measures -> (make_table, make_plot) -> report
const SAMPLE = [
  action('generate_dataset'),
  action('derive_measures', ['generate_dataset']),
  action('make_table', ['derive_measures']),
  action('make_plot', ['derive_measures']),
  action('report', ['make_table', 'make_plot'])
];

describe('actionTree', () => {
  it('draws each action under its deepest need, in file order', () => {
    const rows = actionTree(SAMPLE);
    expect(rows.map(r => [r.action.name, r.depth, r.parent])).toEqual([
      ['generate_dataset', 0, null],
      ['derive_measures', 1, 'generate_dataset'],
      ['make_table', 2, 'derive_measures'],
      ['report', 3, 'make_table'],
      ['make_plot', 2, 'derive_measures']
    ]);
    expect(rows.find(r => r.action.name === 'report')!.alsoNeeds).toEqual(['make_plot']);
  });

  it('puts an action under the longer chain when its needs differ in depth', () => {
    const rows = actionTree([action('a'), action('b', ['a']), action('c', ['a', 'b'])]);
    expect(rows.map(r => [r.action.name, r.depth, r.parent])).toEqual([
      ['a', 0, null],
      ['b', 1, 'a'],
      ['c', 2, 'b']
    ]);
  });

  it('ignores unknown needs and survives a cycle, drawing every action once', () => {
    const rows = actionTree([action('a', ['nope']), action('b', ['c']), action('c', ['b'])]);
    expect(rows.map(r => r.action.name).sort()).toEqual(['a', 'b', 'c']);
    expect(rows[0]).toMatchObject({ depth: 0, parent: null, alsoNeeds: ['nope'] });
  });
});

describe('withNeeds', () => {
  it('adds everything the selected actions need, in file order', () => {
    expect(withNeeds(['make_plot'], SAMPLE)).toEqual(['generate_dataset', 'derive_measures', 'make_plot']);
    expect(withNeeds(['nope'], SAMPLE)).toEqual([]);
  });
});

describe('withLastStates', () => {
  it('takes the newest job of each action and backend', () => {
    const actions = [action('generate_dataset', [], { tpp: 'failed' }), action('other')];
    const jobs = [
      job({ identifier: 'old', state: 'succeeded', created_at: '2026-01-01T09:00:00Z' }),
      job({ identifier: 'new', state: 'running', created_at: '2026-01-01T11:00:00Z' }),
      job({ identifier: 'emis', backend: 'emis', state: 'pending' })
    ];
    const updated = withLastStates(actions, jobs);
    expect(updated[0].last_state).toEqual({ tpp: 'running', emis: 'pending' });
    expect(updated[1]).toBe(actions[1]); // unchanged actions keep their identity
  });
});

describe('requestState', () => {
  it.each([
    [[], 'nothing_to_do'],
    [['pending'], 'pending'],
    [['succeeded', 'pending'], 'running'],
    [['running', 'failed'], 'running'],
    [['succeeded', 'failed'], 'failed'],
    [['succeeded', 'cancelled'], 'succeeded'],
    [['cancelled'], 'cancelled']
  ])('%j is %s, as the job server says', (states, expected) => {
    expect(requestState((states as any[]).map(state => ({ state })))).toBe(expected);
  });
});

describe('applyEvent', () => {
  it('builds a request from its event and its jobs from theirs, in either order', () => {
    let state = applyEvent(emptyState(), 'job', job());
    expect(state.requests.get('r1')!.jobs).toHaveLength(1);
    state = applyEvent(state, 'job_request', { ...request(), jobs: undefined });
    const r = state.requests.get('r1')!;
    expect(r.created_by).toBe('dev');
    expect(r.jobs.map(j => j.identifier)).toEqual(['j1']); // kept from the job event
    state = applyEvent(state, 'job', job({ state: 'running', started_at: '2026-01-01T10:00:02Z' }));
    expect(state.requests.get('r1')!.state).toBe('running');
    state = applyEvent(state, 'job', job({ state: 'succeeded', completed_at: '2026-01-01T10:00:05Z' }));
    expect(state.requests.get('r1')!.state).toBe('succeeded');
  });

  it('never lets a late event undo a finished job', () => {
    let state = applyEvent(emptyState(), 'job', job({ state: 'succeeded' }));
    state = applyEvent(state, 'job', job({ state: 'running' }));
    expect(state.requests.get('r1')!.jobs[0].state).toBe('succeeded');
  });

  it('keeps what events said when an older list of requests arrives after them', () => {
    let state = applyEvent(emptyState(), 'job', job({ state: 'running' }));
    state = applyEvent(state, 'job', job({ identifier: 'j2', state: 'succeeded' }));
    state = withRequests(state, [request({ jobs: [job({ state: 'pending' })] })]);
    const r = state.requests.get('r1')!;
    expect(r.jobs.map(j => [j.identifier, j.state])).toEqual([['j1', 'running'], ['j2', 'succeeded']]);
    expect(r.state).toBe('running');
    state = withRequests(state, [request({ jobs: [job({ state: 'failed' })] })]);
    expect(state.requests.get('r1')!.state).toBe('failed');
  });

  it('adds log lines in order without repeats, and ignores other kinds', () => {
    let state = applyEvent(emptyState(), 'log', { job: 'j1', lines: [[0, 'a'], [1, 'b']] });
    state = applyEvent(state, 'log', { job: 'j1', lines: [[1, 'b'], [2, 'c']] });
    expect(state.logs.get('j1')!.map(l => l.text)).toEqual(['a', 'b', 'c']);
    expect(applyEvent(state, 'backend', {})).toBe(state);
  });

  it('leaves the state it was given untouched', () => {
    const before = emptyState();
    applyEvent(before, 'job', job());
    expect(before.requests.size).toBe(0);
  });
});

describe('mergeLines', () => {
  it('sorts lines that arrive out of order and keeps the newest', () => {
    expect(mergeLines([{ seq: 2, text: 'c' }], [{ seq: 0, text: 'a' }, { seq: 1, text: 'b' }]).map(l => l.seq)).toEqual([0, 1, 2]);
    const many = Array.from({ length: LOG_LINES_KEPT + 10 }, (_, seq) => ({ seq, text: String(seq) }));
    const kept = mergeLines([], many);
    expect(kept).toHaveLength(LOG_LINES_KEPT);
    expect(kept[kept.length - 1].seq).toBe(LOG_LINES_KEPT + 9);
  });
});

describe('lists and notifications', () => {
  it('lists requests newest first, of one workspace', () => {
    const state = withRequests(emptyState(), [
      request({ id: 'a', created_at: '2026-01-01T10:00:00Z' }),
      request({ id: 'b', created_at: '2026-01-01T11:00:00Z' }),
      request({ id: 'c', created_at: '2026-01-01T12:00:00Z', workspace: 'other' })
    ]);
    expect(sortedRequests(state, 'sample').map(r => r.id)).toEqual(['b', 'a']);
  });

  it('tells which requests have just finished', () => {
    const before = applyEvent(emptyState(), 'job', job({ state: 'running' }));
    const after = applyEvent(before, 'job', job({ state: 'failed' }));
    expect(newlyFinished(before, after).map(r => r.id)).toEqual(['r1']);
    expect(newlyFinished(after, after)).toEqual([]);
  });

  it('follows the running job, else the last that started', () => {
    const jobs = [
      job({ identifier: 'a', state: 'succeeded', started_at: '2026-01-01T10:00:01Z' }),
      job({ identifier: 'b', state: 'succeeded', started_at: '2026-01-01T10:00:05Z' }),
      job({ identifier: 'c', state: 'pending' })
    ];
    expect(jobToFollow(request({ jobs }))!.identifier).toBe('b');
    jobs[2] = { ...jobs[2], state: 'running', started_at: '2026-01-01T10:00:09Z' };
    expect(jobToFollow(request({ jobs }))!.identifier).toBe('c');
    expect(jobToFollow(request({ jobs: [job({ identifier: 'z' })] }))!.identifier).toBe('z');
  });
});

describe('timeline', () => {
  it('places waiting and running on one scale', () => {
    const now = Date.parse('2026-01-01T10:00:10Z');
    const { bars, spanMs } = timeline(
      [
        job({ identifier: 'a', state: 'succeeded', started_at: '2026-01-01T10:00:01Z', completed_at: '2026-01-01T10:00:05Z' }),
        job({ identifier: 'b', state: 'running', started_at: '2026-01-01T10:00:05Z' }),
        job({ identifier: 'c', state: 'pending' })
      ],
      now
    );
    expect(spanMs).toBe(10000);
    expect(bars[0]).toMatchObject({ start: 0, runStart: 0.1, end: 0.5, waitedMs: 1000, ranMs: 4000 });
    expect(bars[1]).toMatchObject({ runStart: 0.5, end: 1, ranMs: 5000 });
    expect(bars[2]).toMatchObject({ runStart: null, end: 1, waitedMs: 10000, ranMs: null });
  });

  it('is empty without jobs and never divides by zero', () => {
    expect(timeline([], 0)).toEqual({ bars: [], spanMs: 0 });
    const at = '2026-01-01T10:00:00Z';
    const { bars } = timeline([job({ state: 'cancelled', completed_at: at })], Date.parse(at));
    expect(bars[0].end).toBe(0);
  });

  it('never has a negative length when a start is stamped after now (clocks apart)', () => {
    const now = Date.parse('2026-01-01T10:00:10Z');
    const started = '2026-01-01T10:00:10.106Z'; // the job server's clock is 106 ms ahead
    const { bars } = timeline([job({ state: 'running', started_at: started })], now);
    expect(bars[0].ranMs).toBe(0);
    expect(bars[0].waitedMs).toBe(10000);
    expect(bars[0].runStart).toBeLessThanOrEqual(bars[0].end);
  });
});

describe('released files', () => {
  const file = (path: string, overrides: Partial<IReleaseFile> = {}): IReleaseFile => ({
    id: path,
    group: 'g',
    path,
    job: 'j1',
    sha256: '0'.repeat(64),
    size: 1,
    state: 'released',
    uploaded: true,
    ...overrides
  });

  it('shows released, uploaded files as a folder tree', () => {
    const rows = fileTree([
      file('output/table.csv'),
      file('output/notes/a.txt'),
      file('report.md'),
      file('output/wait.csv', { uploaded: false }),
      file('output/no.csv', { state: 'rejected' })
    ]);
    expect(rows.map(r => [r.path, r.depth, r.file !== null])).toEqual([
      ['output', 0, false],
      ['output/notes', 1, false],
      ['output/notes/a.txt', 2, true],
      ['output/table.csv', 1, true],
      ['report.md', 0, true]
    ]);
  });

  it('knows how each kind of file is handed to JupyterLab', () => {
    expect(fileKind('output/table.csv')).toEqual({ mimetype: 'text/csv', format: 'text' });
    expect(fileKind('plot.PNG')).toEqual({ mimetype: 'image/png', format: 'base64' });
    expect(fileKind('plot.svg').mimetype).toBe('image/svg+xml');
    expect(fileKind('data.bin')).toEqual({ mimetype: 'application/octet-stream', format: 'base64' });
  });
});

describe('problemLabel', () => {
  it('says where', () => {
    expect(problemLabel({ message: 'bad', line: 12, column: 3 })).toBe('line 12, column 3: bad');
    expect(problemLabel({ message: 'bad', line: 4 })).toBe('line 4: bad');
    expect(problemLabel({ message: 'no file', line: null })).toBe('no file');
  });
});
