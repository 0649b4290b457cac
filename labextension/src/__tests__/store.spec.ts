import { api } from '../api';
import { cookie, withXsrf } from '../events';
import { JobsStore, RUN_ALL } from '../store';
import type { IJobRequest, IStudyRun } from '../types';

// the server extension's API answered here; the event stream never opens unless told
jest.mock('../api', () => ({
  api: {
    workspace: jest.fn(),
    actions: jest.fn(),
    backends: jest.fn(),
    me: jest.fn(),
    jobRequests: jest.fn(),
    releases: jest.fn(),
    requested: jest.fn(),
    datasets: jest.fn(),
    submit: jest.fn(),
    logs: jest.fn(),
    runs: jest.fn(),
    run: jest.fn(),
    submitRun: jest.fn(),
    cancelRun: jest.fn(),
    collect: jest.fn()
  },
  extURL: (path: string) => `/jupyter-ext/${path}`,
  errorMessage: (error: unknown) => (error instanceof Error ? error.message : String(error))
}));
const streams: any[] = [];
jest.mock('../events', () => ({
  ...jest.requireActual('../events'),
  EventStream: jest.fn().mockImplementation((options: any) => {
    const stream = { options, start: jest.fn(), dispose: jest.fn(), mode: 'eventsource' };
    streams.push(stream);
    return stream;
  })
}));
const mocked = api as unknown as Record<string, jest.Mock>;

const REQUEST: IJobRequest = {
  id: 'r1',
  workspace: 'sample',
  project: 'sample-study',
  backend: 'tpp',
  sha: 'a'.repeat(40),
  actions: ['make_table'],
  force_run_dependencies: false,
  notify: true,
  state: 'succeeded',
  created_by: 'dev',
  created_at: '2026-01-01T10:00:00Z',
  jobs: []
};

function answer(user = { username: 'dev', roles: [] as string[] }) {
  mocked.workspace.mockResolvedValue({ name: 'sample', workspace: null, jobserver_error: null, checkout: { warnings: [] } });
  mocked.actions.mockResolvedValue({
    file: 'project.yaml',
    sha: 'a'.repeat(40),
    actions: [{ name: 'make_table', needs: [], run: 'r', line: 1, outputs: {}, last_state: {} }],
    problems: [],
    warnings: []
  });
  mocked.backends.mockResolvedValue([{ slug: 'tpp', name: 'TPP', online: true }]);
  mocked.me.mockResolvedValue(user);
  mocked.jobRequests.mockResolvedValue({ items: [REQUEST], next: null });
  mocked.releases.mockResolvedValue({ items: [], next: null });
  mocked.requested.mockResolvedValue({ items: [], next: null });
  mocked.runs.mockResolvedValue({ items: [], next: null });
}

function newHost() {
  return {
    openFileAt: jest.fn(),
    openReleased: jest.fn(),
    finished: jest.fn(),
    runFinished: jest.fn(),
    openFolder: jest.fn(),
    releaseNotice: jest.fn()
  };
}

function newStore(pageWorkspace = '', host = newHost()): JobsStore {
  return new JobsStore(host, pageWorkspace);
}

beforeEach(() => {
  jest.clearAllMocks();
  streams.length = 0;
});

describe('JobsStore.start', () => {
  it('fills the lists by plain reads before the stream has opened or sent anything', async () => {
    answer();
    const store = newStore();
    expect(store.loaded).toEqual({ requests: false, releases: false }); // the panel says Loading…
    await store.start();
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(streams[0].start).toHaveBeenCalled();
    expect(store.streamOpen).toBe(false);
    expect(store.loaded).toEqual({ requests: true, releases: true });
    expect(store.releasing.loaded).toEqual({ requests: true, queue: true }); // no queue: not a checker
    expect([...store.jobs.requests.keys()]).toEqual(['r1']);
    expect(mocked.jobRequests).toHaveBeenCalledTimes(1);
  });

  it('asks for the lists before the workspace answers when the page names it', async () => {
    answer();
    let answerWorkspace: (value: unknown) => void = () => undefined;
    mocked.workspace.mockReturnValue(new Promise(resolve => (answerWorkspace = resolve)));
    const store = newStore('sample');
    const started = store.start();
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(mocked.jobRequests).toHaveBeenCalledWith('sample');
    expect(store.loaded.requests).toBe(true);
    expect(streams[0].options.url).toBe('/jupyter-ext/api/events');
    expect(store.workspace).toBeNull(); // still on its way
    answerWorkspace({ name: 'sample', workspace: null, jobserver_error: null, checkout: { warnings: [] } });
    await started;
  });

  it('reads the lists once more when the stream first opens, after the first read', async () => {
    answer();
    const store = newStore();
    await store.start();
    streams[0].options.onOpen(true);
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(mocked.jobRequests).toHaveBeenCalledTimes(2);
    expect(mocked.releases).toHaveBeenCalledTimes(2);
    streams[0].options.onOpen(false); // a reconnection replays with Last-Event-ID: no read
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(mocked.jobRequests).toHaveBeenCalledTimes(2);
  });

  it("reads a checker's queue at once, beside their second stream", async () => {
    answer({ username: 'checker1', roles: ['output_checker'] });
    const store = newStore();
    await store.start();
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(streams).toHaveLength(2);
    expect(store.releasing.loaded.queue).toBe(true);
    expect(mocked.requested).toHaveBeenCalledWith(); // every workspace the checker may see
  });
});

describe('JobsStore.submit', () => {
  it('sends run_all for Run all, with the same options as chosen actions', async () => {
    answer();
    mocked.submit.mockResolvedValue({ ...REQUEST, id: 'r2', actions: [RUN_ALL], state: 'pending' });
    const store = newStore();
    await store.start();
    expect(store.canSubmit).toBe(false); // nothing chosen
    expect(store.canRunAll).toBe(true);
    store.setOption('forceRunDependencies', true);
    await store.submit(true);
    expect(mocked.submit).toHaveBeenCalledWith({
      workspace: 'sample',
      backend: 'tpp',
      actions: [RUN_ALL],
      force_run_dependencies: true,
      notify: true
    });
    expect(store.view).toMatchObject({ kind: 'request', id: 'r2' }); // its planned jobs shown
  });

  it('cannot run all while project.yaml has problems', async () => {
    answer();
    const store = newStore();
    await store.start();
    store.actions = { ...store.actions!, problems: [{ message: 'bad', line: 1 }] } as any;
    expect(store.canRunAll).toBe(false);
    expect(await store.submit(true)).toBeNull();
  });
});

describe('the EventSource and the XSRF check', () => {
  it('sends the page\'s XSRF token as the _xsrf argument', () => {
    expect(withXsrf('/x/jupyter-ext/api/events?workspace=s', '2|a b')).toBe(
      '/x/jupyter-ext/api/events?workspace=s&_xsrf=2%7Ca%20b'
    );
    expect(withXsrf('/x/events', 'tok')).toBe('/x/events?_xsrf=tok');
    expect(withXsrf('/x/events', undefined)).toBe('/x/events');
  });

  it('reads the last cookie of a name, as JupyterLab does', () => {
    expect(cookie('_xsrf', 'a=1; _xsrf=first; b=2; _xsrf=last')).toBe('last');
    expect(cookie('_xsrf', 'a=1; x_xsrf=no')).toBeUndefined();
    expect(cookie('_xsrf')).toBeUndefined(); // no document in node
  });
});

describe('a study run from the panel', () => {
  const BACKENDS = [
    { slug: 'north', name: 'North', online: true },
    { slug: 'south', name: 'South', online: false }
  ];
  const job = (backend: string, state: string) => ({
    identifier: `j-${backend}`,
    job_request: `r-${backend}`,
    workspace: 'sample',
    backend,
    action: 'make_table',
    state,
    created_at: '2026-01-01T10:00:00Z'
  });
  const part = (backend: string, state = 'pending'): IJobRequest => ({
    ...REQUEST,
    id: `r-${backend}`,
    backend,
    state: state as any,
    run: 'run1',
    jobs: [job(backend, state) as any]
  });
  const RUN: IStudyRun = {
    id: 'run1',
    workspace: 'sample',
    project: 'sample-study',
    sha: 'a'.repeat(40),
    actions: ['make_table'],
    force_run_dependencies: false,
    notify: true,
    state: 'pending',
    summary: 'north pending, south pending; waiting for south: never seen',
    created_by: 'dev',
    created_at: '2026-01-01T10:00:00Z',
    sites: ['north', 'south'].map(backend => ({
      backend,
      state: 'pending',
      message: backend === 'south' ? 'waiting for south: never seen' : '',
      online: backend === 'north',
      last_seen_at: null,
      job_request: part(backend)
    }))
  };

  async function started(host = newHost()) {
    answer();
    mocked.backends.mockResolvedValue(BACKENDS);
    const store = newStore('', host);
    await store.start();
    return store;
  }

  afterEach(() => jest.useRealTimers());

  it('sends one job request to one backend, and a run to several', async () => {
    const store = await started();
    expect(store.chosen).toEqual(['north']); // the first online one
    store.toggle('make_table', true);
    mocked.submit.mockResolvedValue({ ...REQUEST, id: 'r9', backend: 'north' });
    await store.submit();
    expect(mocked.submit).toHaveBeenCalledWith(expect.objectContaining({ backend: 'north' }));
    expect(mocked.submitRun).not.toHaveBeenCalled();

    store.toggleBackend('south', true);
    store.toggleBackend('north', false);
    store.toggleBackend('north', true); // in the order of the list, whatever the clicks'
    expect(store.chosen).toEqual(['north', 'south']);
    mocked.submitRun.mockResolvedValue(RUN);
    mocked.run.mockResolvedValue(RUN);
    await store.submit();
    expect(mocked.submitRun).toHaveBeenCalledWith({
      workspace: 'sample',
      backends: ['north', 'south'],
      actions: ['make_table'],
      force_run_dependencies: false,
      notify: true
    });
    expect(store.view).toEqual({ kind: 'run', id: 'run1', job: null });
    // its own stream follows it: the events of every site
    const stream = streams[streams.length - 1];
    expect(stream.options.url).toBe('/jupyter-ext/api/events');
    expect(stream.options.kinds).toEqual(['job', 'job_request']);
    expect(store.runs.following).toBe('run1');
    expect(store.run!.sites.map(s => [s.backend, s.message])).toEqual([
      ['north', ''],
      ['south', 'waiting for south: never seen']
    ]);
    store.showList();
    expect(stream.dispose).toHaveBeenCalled();
    expect(store.runs.following).toBeNull();
  });

  it("shows the server's refusal sentence as a refusal of one request is shown", async () => {
    const store = await started();
    store.toggle('make_table', true);
    store.toggleBackend('south', true);
    mocked.submitRun.mockRejectedValue(new Error('south has no runner for the dataset of make_table'));
    expect(await store.submit()).toBeNull();
    expect(store.errors.submit).toBe('south has no runner for the dataset of make_table');
    expect(store.view).toEqual({ kind: 'list' });
  });

  it("follows each site live and says once when the run's last site finished", async () => {
    const host = newHost();
    const store = await started(host);
    mocked.run.mockResolvedValue(RUN);
    store.runs.add(RUN);
    store.openRun('run1');
    const stream = streams[streams.length - 1];
    stream.options.onEvent('job', job('north', 'succeeded'));
    expect(store.run!.state).toBe('running');
    expect(host.runFinished).not.toHaveBeenCalled();
    // the workspace's stream brings the same event: nothing changes twice
    streams[0].options.onEvent('job', job('north', 'succeeded'));
    stream.options.onEvent('job', job('south', 'succeeded'));
    expect(store.run!.sites.map(s => s.state)).toEqual(['succeeded', 'succeeded']);
    expect(host.runFinished).toHaveBeenCalledTimes(1);
    expect(host.runFinished.mock.calls[0][0]).toMatchObject({ id: 'run1', state: 'succeeded' });
    expect(host.finished).not.toHaveBeenCalled(); // not once per site
    // a cell opens that job's log
    mocked.logs.mockResolvedValue([{ seq: 0, text: 'hello' }]);
    store.openJob('j-south');
    expect(store.view).toEqual({ kind: 'run', id: 'run1', job: 'j-south' });
    expect(mocked.logs).toHaveBeenCalledWith('j-south');
    store.showList();
  });

  it('reads a run it hears of from a part, and cancels one site or all', async () => {
    const store = await started();
    mocked.run.mockResolvedValue(RUN);
    store.onEvent('job_request', { ...part('north'), jobs: undefined });
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(mocked.run).toHaveBeenCalledWith('run1');
    expect(store.runs.records.has('run1')).toBe(true);
    const cancelled = { ...RUN, sites: RUN.sites.map(s => ({ ...s, job_request: part(s.backend, 'cancelled') })) };
    mocked.cancelRun.mockResolvedValue(cancelled);
    await store.runs.cancel('run1', 'south');
    expect(mocked.cancelRun).toHaveBeenCalledWith('run1', 'south');
    expect(store.runItem('run1').state).toBe('cancelled');
  });

  it('collects into the folder asked for and shows it in the file browser', async () => {
    const host = newHost();
    const store = await started(host);
    expect(store.runs.collectState('run1').folder).toBe('collected/run1');
    store.runs.setFolder('run1', ' pooled/run1 ');
    const result = { run: 'run1', folder: 'pooled/run1', files: [], missing: { north: 'why' }, complete: false };
    mocked.collect.mockResolvedValue(result);
    await store.runs.collect('run1');
    expect(mocked.collect).toHaveBeenCalledWith('run1', 'pooled/run1');
    expect(store.runs.collectState('run1').result).toEqual(result);
    expect(host.openFolder).toHaveBeenCalledWith('pooled/run1', false);
    mocked.collect.mockRejectedValue(new Error('../x is outside the workspace'));
    await store.runs.collect('run1');
    expect(store.runs.collectState('run1').error).toBe('../x is outside the workspace');
  });
});
