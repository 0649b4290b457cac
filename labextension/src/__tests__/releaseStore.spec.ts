import { api } from '../api';
import type { IReleaseNotice } from '../releasing';
import { ReleaseStore } from '../releaseStore';
import type { IRelease, IReleaseFile, IUser } from '../types';

// the server extension's API, answered here (no JupyterLab, no server)
jest.mock('../api', () => ({
  api: { release: jest.fn(), me: jest.fn(), requested: jest.fn() },
  errorMessage: (error: unknown) => (error instanceof Error ? error.message : String(error))
}));
const mocked = api as unknown as Record<'release' | 'me' | 'requested', jest.Mock>;

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
    ...overrides
  };
}

function release(id: string, overrides: Partial<IRelease> = {}): IRelease {
  return {
    id,
    workspace: 'sample',
    backend: 'tpp',
    state: 'requested',
    groups: { tables: { context: 'c', disclosure_control: 'd' } },
    created_by: 'dev',
    created_at: '2026-01-01T10:00:00Z',
    published_at: null,
    files: [file(`${id}-a`)],
    ...overrides
  };
}

/** A store as the panel's, with what it tells and the released list it keeps. */
function storeFor(user: IUser) {
  const notices: IReleaseNotice[] = [];
  let released: IRelease[] = [];
  let emitted = 0;
  const store = new ReleaseStore({
    workspace: () => 'sample',
    emit: () => emitted++,
    notify: notice => notices.push(notice),
    released: () => released,
    setReleased: list => {
      released = list;
    }
  });
  store.me = user;
  return { store, notices, released: () => released, emitted: () => emitted };
}

const event = (r: IRelease) => ({ id: r.id, workspace: r.workspace, state: r.state });

beforeEach(() => jest.resetAllMocks());

describe('an analyst follows the releases of their workspace', () => {
  const dev = { username: 'dev', roles: [] };

  it('updates a request in place after a vote, with no notice', async () => {
    const { store, notices } = storeFor(dev);
    const asked = release('r1');
    store.requests = [release('r2'), asked];
    const voted = release('r1', { files: [file('r1-a', { state: 'in_review' })] });
    mocked.release.mockResolvedValueOnce(voted);
    await store.follow(event(voted));
    expect(mocked.release).toHaveBeenCalledWith('r1');
    expect(store.requests.map(r => [r.id, r.files[0].state])).toEqual([
      ['r2', 'requested'],
      ['r1', 'in_review']
    ]);
    expect(notices).toEqual([]);
  });

  it('tells when changes are requested and when released, and moves a released one', async () => {
    const { store, notices, released } = storeFor(dev);
    const asked = release('r1');
    store.requests = [asked];
    store.made = new Map([['j1', asked]]);
    const changes = release('r1', { files: [file('r1-a', { state: 'changes_requested' })] });
    mocked.release.mockResolvedValueOnce(changes);
    await store.follow(event(changes));
    expect(notices.map(n => n.message)).toEqual([
      'Changes requested to output/r1-a.csv in your release “tables” (r1)'
    ]);
    const out = release('r1', { state: 'released', files: [file('r1-b', { state: 'released' })] });
    mocked.release.mockResolvedValueOnce(out);
    await store.follow(event(out));
    expect(notices.map(n => n.kind)).toEqual(['changes_requested', 'released']);
    expect(store.requests).toEqual([]); // no longer asked for: among the released outputs
    expect(released()).toEqual([out]);
    expect(store.made.get('j1')).toBe(out); // the job's card shows it too
  });

  it('adds a request made elsewhere (a notebook) and ignores other workspaces', async () => {
    const { store, notices } = storeFor(dev);
    store.requests = [release('r1')];
    const made = release('r2');
    mocked.release.mockResolvedValueOnce(made);
    await store.follow(event(made));
    expect(store.requests.map(r => r.id)).toEqual(['r2', 'r1']);
    await store.follow({ id: 'r3', workspace: 'other', state: 'requested' });
    expect(mocked.release).toHaveBeenCalledTimes(1);
    expect(notices).toEqual([]); // nothing held to compare with: a new request is no news
  });

  it('reads a release once more, not once per event, when events come while it is read', async () => {
    const { store } = storeFor(dev);
    store.requests = [release('r1')];
    let answer!: (r: IRelease) => void;
    mocked.release.mockImplementationOnce(() => new Promise(resolve => (answer = resolve)));
    const later = release('r1', { files: [file('r1-a', { state: 'approved' })] });
    mocked.release.mockResolvedValueOnce(later);
    const first = store.follow(event(later));
    await Promise.all([store.follow(event(later)), store.follow(event(later))]);
    answer(release('r1', { files: [file('r1-a', { state: 'in_review' })] }));
    await first;
    expect(mocked.release).toHaveBeenCalledTimes(2);
    expect(store.requests[0].files[0].state).toBe('approved');
  });

  it('drops a release it may no longer read; says other failures where requests are shown', async () => {
    const { store } = storeFor(dev);
    store.requests = [release('r1'), release('r2')];
    mocked.release.mockRejectedValueOnce(Object.assign(new Error('gone'), { response: { status: 404 } }));
    await store.follow(event(release('r1')));
    expect(store.requests.map(r => r.id)).toEqual(['r2']);
    expect(store.errors.requests).toBeUndefined();
    mocked.release.mockRejectedValueOnce(new Error('the job server cannot be reached'));
    await store.follow(event(release('r2')));
    expect(store.errors.requests).toBe('the job server cannot be reached');
    expect(store.requests.map(r => r.id)).toEqual(['r2']);
    mocked.release.mockResolvedValueOnce(release('r2'));
    await store.follow(event(release('r2')));
    expect(store.errors.requests).toBeUndefined();
  });
});

describe("a checker's queue follows releases of every workspace", () => {
  const checker = { username: 'checker1', roles: ['output_checker'] };

  it('tells of a new release waiting for them once the queue was read, and queues it', async () => {
    const { store, notices } = storeFor(checker);
    mocked.requested.mockResolvedValueOnce({ items: [release('r1', { workspace: 'other' })], next: null });
    await store.loadQueue();
    const fresh = release('r2', { workspace: 'other', created_by: 'ana' });
    mocked.release.mockResolvedValueOnce(fresh);
    await store.follow(event(fresh));
    expect(store.queue.map(r => r.id)).toEqual(['r1', 'r2']); // oldest first
    expect(notices.map(n => n.message)).toEqual([
      'Release “tables” (r2) of other by ana waits for your review (1 file)'
    ]);
    // another checker votes on it: still waiting, nothing new to say
    const voted = release('r2', { workspace: 'other', created_by: 'ana',
      files: [file('r2-a', { state: 'in_review' })] }); // prettier-ignore
    mocked.release.mockResolvedValueOnce(voted);
    await store.follow(event(voted));
    expect(notices).toHaveLength(1);
    expect(store.queue[1].files[0].state).toBe('in_review');
    // withdrawn: out of the queue; a release no longer asked for and not held is not read
    const gone = { ...voted, state: 'withdrawn' };
    mocked.release.mockResolvedValueOnce(gone);
    await store.follow(event(gone));
    expect(store.queue.map(r => r.id)).toEqual(['r1']);
    await store.follow({ id: 'r9', workspace: 'other', state: 'released' });
    expect(mocked.release).toHaveBeenCalledTimes(3);
  });

  it('says nothing of a waiting release before its queue was read', async () => {
    const { store, notices } = storeFor(checker);
    mocked.release.mockResolvedValueOnce(release('r1', { workspace: 'other' }));
    await store.follow({ id: 'r1', workspace: 'other', state: 'requested' });
    expect(store.queue.map(r => r.id)).toEqual(['r1']);
    expect(notices).toEqual([]);
  });

  it("keeps the stream's trouble apart from the queue's own errors", () => {
    const { store } = storeFor(checker);
    store.streamError('reconnecting…');
    expect(store.errors.review).toBe('Live updates of the queue paused: reconnecting…');
    store.streamError(undefined);
    expect(store.errors.review).toBeUndefined();
    store.errors = { review: 'forbidden' };
    store.streamError(undefined);
    expect(store.errors.review).toBe('forbidden');
  });
});
