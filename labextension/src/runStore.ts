/**
 * The panel's part in study runs: their records (`GET api/runs`), the run opened followed by
 * its own event stream (`GET api/events?run=<id>`: the jobs of every site), cancelling all of
 * it or one site, and collecting its released outputs into a folder of the workspace. The
 * jobs themselves live with the Jobs store's job requests (a run's parts are job requests);
 * the pure parts are in runs.ts.
 */
import { api, errorMessage, extURL } from './api';
import { failure, withError } from './errorBook';
import { EventStream } from './events';
import { unfinished } from './runs';
import type { ICollected, IJobRequest, IStudyRun } from './types';

export interface IRunHost {
  /** The workspace's name ('' until known). */
  workspace(): string;
  emit(): void;
  /** An event of the run's stream, applied as the workspace stream's are. */
  onEvent(kind: string, data: any): void;
  /** A run's parts as read with it, merged into the job requests. */
  addParts(parts: IJobRequest[]): void;
  /** Show a folder of the workspace in the file browser (`show`: bring the browser forward). */
  openFolder(path: string, show: boolean): void;
}

export type RunErrorKey = 'runs' | 'run' | 'stream' | 'cancel';

export interface ICollectState {
  folder: string;
  busy: boolean;
  result: ICollected | null;
  error?: string;
}

/** How often the opened run's record is read again while it is unfinished: its sites'
 * messages ("last seen 3 minutes ago") change with no event. */
export const RUN_POLL_MS = 15_000;
/** Events come in bursts (a job's start, its end, the next job's start): one read after. */
export const RUN_READ_DELAY_MS = 300;

export class RunStore {
  /** Runs of the workspace as the job server last said them, by id. */
  records = new Map<string, IStudyRun>();
  errors: Partial<Record<RunErrorKey, string>> = {};
  /** Cancels under way: the run's id, or `<id>/<backend>` for one site. */
  cancelling = new Set<string>();
  /** The collect form and its last answer, by run id. */
  collects = new Map<string, ICollectState>();
  streamOpen = false;
  private stream: EventStream | null = null;
  private followed: string | null = null;
  private poll: ReturnType<typeof setInterval> | null = null;
  private pendingRead: ReturnType<typeof setTimeout> | null = null;
  /** Runs being read (a part's event for an unknown run asks once). */
  private reading = new Set<string>();

  constructor(private host: IRunHost) {}

  /** The run whose stream is open (the one shown), or null. */
  get following(): string | null {
    return this.followed;
  }

  async loadRuns(): Promise<void> {
    const workspace = this.host.workspace();
    if (!workspace) {
      return;
    }
    await this.guard('runs', async () => {
      for (const run of (await api.runs(workspace)).items) {
        this.records.set(run.id, run);
      }
    });
  }

  /** A run read again: its record, and its parts' jobs merged into the job requests. */
  async loadRun(id: string): Promise<void> {
    if (this.reading.has(id)) {
      return;
    }
    this.reading.add(id);
    try {
      await this.guard('run', async () => this.add(await api.run(id)));
    } finally {
      this.reading.delete(id);
    }
  }

  add(run: IStudyRun): void {
    this.records.set(run.id, run);
    this.host.addParts(run.sites.map(s => s.job_request));
  }

  /** A job request of a run not read yet (made elsewhere: a notebook, another tab). */
  noteRequest(request: IJobRequest): void {
    if (request.run && !this.records.has(request.run)) {
      void this.loadRun(request.run);
    }
  }

  /** Follow one run live (the one shown): its stream, and its record read again as it moves. */
  follow(id: string): void {
    if (this.followed === id) {
      return;
    }
    this.unfollow();
    this.followed = id;
    this.stream = new EventStream({
      url: extURL('api/events', { run: id }),
      kinds: ['job', 'job_request'],
      onEvent: (kind, data) => {
        this.host.onEvent(kind, data);
        this.readSoon(id);
      },
      onOpen: first => {
        this.streamOpen = true;
        this.setError('stream', undefined);
        if (first) {
          void this.loadRun(id); // what happened before it opened
        }
      },
      onError: message => {
        this.streamOpen = false;
        this.setError('stream', message);
      }
    });
    this.stream.start();
    this.poll = setInterval(() => {
      const record = this.records.get(id);
      if (!record || unfinished(record.state)) {
        void this.loadRun(id);
      }
    }, RUN_POLL_MS);
  }

  unfollow(): void {
    this.stream?.dispose();
    this.stream = null;
    this.followed = null;
    this.streamOpen = false;
    if (this.poll !== null) {
      clearInterval(this.poll);
      this.poll = null;
    }
    if (this.pendingRead !== null) {
      clearTimeout(this.pendingRead);
      this.pendingRead = null;
    }
    this.setError('stream', undefined);
  }

  dispose(): void {
    this.unfollow();
  }

  private readSoon(id: string): void {
    if (this.pendingRead === null) {
      this.pendingRead = setTimeout(() => {
        this.pendingRead = null;
        if (this.followed === id) {
          void this.loadRun(id);
        }
      }, RUN_READ_DELAY_MS);
    }
  }

  /** Every site's unfinished jobs, or one site's (`backend`). */
  async cancel(id: string, backend?: string): Promise<void> {
    const key = backend ? `${id}/${backend}` : id;
    this.cancelling.add(key);
    this.host.emit();
    try {
      await this.guard('cancel', async () => this.add(await api.cancelRun(id, backend)));
    } finally {
      this.cancelling.delete(key);
      this.host.emit();
    }
  }

  collectState(id: string): ICollectState {
    return this.collects.get(id) ?? { folder: `collected/${id}`, busy: false, result: null };
  }

  setFolder(id: string, folder: string): void {
    this.collects.set(id, { ...this.collectState(id), folder });
    this.host.emit();
  }

  /** The run's released outputs from every site into its folder (the server extension writes
   * them as this user); the folder is then shown in the file browser. */
  async collect(id: string): Promise<ICollected | null> {
    const state = this.collectState(id);
    this.collects.set(id, { ...state, busy: true, error: undefined });
    this.host.emit();
    try {
      const result = await api.collect(id, state.folder.trim());
      this.collects.set(id, { ...state, busy: false, result });
      this.host.openFolder(result.folder, false);
      return result;
    } catch (error) {
      this.collects.set(id, { ...state, busy: false, result: null, error: errorMessage(error) });
      return null;
    } finally {
      this.host.emit();
    }
  }

  /** A collection's folder, shown in the file browser. */
  showFolder(path: string): void {
    this.host.openFolder(path, true);
  }

  private setError(key: RunErrorKey, message: string | undefined): void {
    const errors = withError(this.errors, key, message);
    if (errors !== this.errors) {
      this.errors = errors;
      this.host.emit();
    }
  }

  private async guard(key: RunErrorKey, work: () => Promise<void>): Promise<void> {
    this.errors = withError(this.errors, key, await failure(work));
    this.host.emit();
  }
}
