import { api } from '../api';
import { cookie, withXsrf } from '../events';
import { JobsStore, RUN_ALL } from '../store';
import type { IJobRequest } from '../types';

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
    logs: jest.fn()
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
}

function newStore(pageWorkspace = ''): JobsStore {
  const host = { openFileAt: jest.fn(), openReleased: jest.fn(), finished: jest.fn(), releaseNotice: jest.fn() };
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
