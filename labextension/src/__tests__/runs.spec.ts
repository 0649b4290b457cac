import { runAllSummaryAt } from '../runAll';
import { collectedBySite, listItems, runGrid, runItem, runState } from '../runs';
import type { IActionStatus, IJob, IJobRequest, IStudyRun, JobState } from '../types';

function job(action: string, backend: string, state: JobState, request = `r-${backend}`): IJob {
  return {
    identifier: `${action}-${backend}`,
    job_request: request,
    workspace: 'sample',
    backend,
    action,
    state,
    status_message: '',
    exit_code: null,
    needs: [],
    wait_for: [],
    runner: null,
    cancelled_by: null,
    created_at: '2026-01-01T10:00:00Z',
    started_at: null,
    completed_at: null
  };
}

function part(backend: string, jobs: IJob[], run: string | null = 'run1', at = '2026-01-01T10:00:00Z'): IJobRequest {
  return {
    id: `r-${backend}`,
    workspace: 'sample',
    project: 'p',
    backend,
    sha: 'a'.repeat(40),
    actions: ['make_table'],
    force_run_dependencies: false,
    notify: true,
    state: 'pending',
    created_by: 'dev',
    created_at: at,
    jobs,
    run
  };
}

function record(parts: IJobRequest[], messages: Record<string, string> = {}): IStudyRun {
  return {
    id: 'run1',
    workspace: 'sample',
    project: 'p',
    sha: 'a'.repeat(40),
    actions: ['make_table'],
    force_run_dependencies: false,
    notify: true,
    state: 'pending',
    summary: '',
    created_by: 'dev',
    created_at: '2026-01-01T10:00:00Z',
    sites: parts.map(p => ({
      backend: p.backend,
      state: 'pending',
      message: messages[p.backend] ?? '',
      online: !messages[p.backend],
      last_seen_at: null,
      job_request: p
    }))
  };
}

describe('runState', () => {
  it('is as far as the least finished site, as the job server says it', () => {
    expect(runState(['pending', 'pending'])).toBe('pending');
    expect(runState(['succeeded', 'pending'])).toBe('running');
    expect(runState(['failed', 'running'])).toBe('running');
    expect(runState(['succeeded', 'failed', 'cancelled'])).toBe('failed');
    expect(runState(['succeeded', 'cancelled'])).toBe('cancelled');
    expect(runState(['nothing_to_do', 'nothing_to_do'])).toBe('nothing_to_do');
    expect(runState(['succeeded', 'nothing_to_do'])).toBe('succeeded');
  });
});

describe('runItem', () => {
  it("takes each site's state from its jobs, and the record's message while it holds", () => {
    const north = part('north', [job('make_table', 'north', 'running')]);
    const south = part('south', [job('make_table', 'south', 'pending')]);
    const waiting = 'waiting for south: last seen 12 minutes ago';
    const item = runItem('run1', [south, north], record([north, south], { south: waiting }));
    expect(item.sites.map(s => [s.backend, s.state, s.message, s.online])).toEqual([
      ['north', 'running', '', true],
      ['south', 'pending', waiting, false]
    ]);
    expect(item.state).toBe('running');
    // south's runner came back and started: the record's sentence no longer holds
    const started = part('south', [job('make_table', 'south', 'running')]);
    expect(runItem('run1', [north, started], record([north, south], { south: waiting })).sites[1].message).toBe('');
  });

  it('is drawn from its parts alone before its record is read, and from its record alone', () => {
    const north = part('north', [job('make_table', 'north', 'succeeded')]);
    const item = runItem('run1', [north]);
    expect(item.sites.map(s => s.backend)).toEqual(['north']);
    expect(item.state).toBe('succeeded');
    expect(item.sites[0].online).toBeNull();
    const south = part('south', []);
    expect(runItem('run1', [], record([north, south])).sites.map(s => s.state)).toEqual(['succeeded', 'pending']);
  });
});

describe('listItems', () => {
  it("shows a run as one item holding its parts, newest first beside lone requests", () => {
    const older = part('tpp', [], null, '2026-01-01T09:00:00Z');
    const newer = { ...part('tpp', [], null, '2026-01-01T11:00:00Z'), id: 'r-new' };
    const north = part('north', []);
    const south = part('south', []);
    const items = listItems([newer, south, north, older], new Map());
    expect(items.map(i => (i.kind === 'run' ? i.run.id : i.request.id))).toEqual(['r-new', 'run1', 'r-tpp']);
    const run = items[1];
    expect(run.kind === 'run' && run.run.sites.map(s => s.part.id)).toEqual(['r-north', 'r-south']);
  });

  it("lists a run of the workspace read before any part of it, not another workspace's", () => {
    const runs = new Map([
      ['run1', record([part('north', [])])],
      ['run2', { ...record([]), id: 'run2', workspace: 'other' }]
    ]);
    expect(listItems([], runs, 'sample').map(i => i.kind === 'run' && i.run.id)).toEqual(['run1']);
  });
});

describe('runGrid', () => {
  it("draws actions in project.yaml's order by sites, a gap where a site planned none", () => {
    // north had generate_dataset already: it planned only what it still needed
    const north = part('north', [job('make_table', 'north', 'running'), job('derive_measures', 'north', 'succeeded')]);
    const south = part('south', [
      job('generate_dataset', 'south', 'succeeded'),
      job('derive_measures', 'south', 'running'),
      job('make_table', 'south', 'pending')
    ]);
    const grid = runGrid(runItem('run1', [north, south]), ['generate_dataset', 'derive_measures', 'make_table']);
    expect(grid.sites).toEqual(['north', 'south']);
    expect(grid.rows.map(r => [r.action, ...r.cells.map(c => c?.state ?? null)])).toEqual([
      ['generate_dataset', null, 'succeeded'],
      ['derive_measures', 'succeeded', 'running'],
      ['make_table', 'running', 'pending']
    ]);
    // without the file's order: as the sites' jobs name them
    expect(runGrid(runItem('run1', [south])).rows.map(r => r.action)).toEqual([
      'generate_dataset',
      'derive_measures',
      'make_table'
    ]);
  });
});

describe('collectedBySite', () => {
  it('says what was written and why a site has nothing, site by site', () => {
    const file = { release: 'R', release_file: 'F', job: 'j', action: 'make_table', sha256: 'x', size: 1 };
    const result = {
      run: 'run1',
      folder: 'collected/run1',
      files: [{ ...file, site: 'north', path: 'north/output/table.csv' }],
      missing: { south: 'nothing from this run is released at south' },
      complete: false
    };
    expect(collectedBySite(result, ['north', 'south'])).toEqual([
      { site: 'north', files: ['output/table.csv'], missing: '' },
      { site: 'south', files: [], missing: 'nothing from this run is released at south' }
    ]);
  });
});

describe('runAllSummaryAt', () => {
  it('says what run_all runs at each site chosen', () => {
    const actions: IActionStatus[] = [
      { name: 'a', needs: [], run: 'r', line: 1, outputs: {}, last_state: { north: 'succeeded' } },
      { name: 'b', needs: [], run: 'r', line: 2, outputs: {}, last_state: {} }
    ];
    expect(runAllSummaryAt(actions, ['north'], false)).toBe('Run all runs b.');
    expect(runAllSummaryAt(actions, ['north', 'south'], false)).toBe('Run all runs at north, b; at south, a, b.');
  });
});
