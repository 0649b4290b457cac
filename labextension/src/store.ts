/**
 * The panel's state and what changes it: answers of the server extension, the
 * event stream, and the analyst's choices. Views read it and listen to `changed`;
 * the pure parts of each change are in model.ts.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { api, errorMessage, extURL } from './api';
import { serverAhead } from './durations';
import { failure, withError } from './errorBook';
import { EventStream } from './events';
import {
  applyEvent,
  emptyState,
  IJobsState,
  jobToFollow,
  newlyFinished,
  withLastStates,
  withLogLines,
  withRequests
} from './model';
import type { IReleaseEvent, IReleaseNotice } from './releasing';
import { ReleaseStore } from './releaseStore';
import { IRunItem, runItem, unfinished } from './runs';
import { RunStore } from './runStore';
import type {
  IActions,
  IBackend,
  IDataset,
  IJob,
  IJobRequest,
  IOutput,
  IRelease,
  IStudyRun,
  IWorkspaceInfo
} from './types';

/** What the panel asks of JupyterLab (kept out of the store so it stays testable). */
export interface IPanelHost {
  openFileAt(path: string, line?: number | null, column?: number | null): void;
  openReleased(release: IRelease, path: string): void;
  finished(request: IJobRequest): void;
  /** A study run's last site finished. */
  runFinished(run: IRunItem): void;
  /** Show a folder of the workspace in the file browser (`show`: bring the browser forward). */
  openFolder(path: string, show: boolean): void;
  /** A release of one's own changed, or one waits for one's review. */
  releaseNotice(notice: IReleaseNotice): void;
}

/** What the official tools and the job server read as every action (not yet succeeded). */
export const RUN_ALL = 'run_all';

export type View =
  | { kind: 'list' }
  | { kind: 'request'; id: string; job: string | null; follow: boolean }
  | { kind: 'run'; id: string; job: string | null };

export type ErrorKey =
  | 'workspace'
  | 'actions'
  | 'requests'
  | 'submit'
  | 'stream'
  | 'releases'
  | 'datasets';

export class JobsStore {
  workspace: IWorkspaceInfo | null = null;
  actions: IActions | null = null;
  backends: IBackend[] = [];
  jobs: IJobsState = emptyState();
  releases: IRelease[] = [];
  /** The datasets the workspace's project may use, with their manifests. */
  datasets: IDataset[] = [];
  outputs = new Map<string, IOutput[]>();
  selected = new Set<string>();
  /** The backends chosen for a submission, in the order they are listed: one sends a job
   * request, several a study run (a job request at each, at one commit). */
  chosen: string[] = [];
  forceRunDependencies = false;
  notify = true;
  submitting = false;
  streamOpen = false;
  view: View = { kind: 'list' };
  errors: Partial<Record<ErrorKey, string>> = {};
  /** Lists read at least once (until then the panel says it is loading them). */
  loaded = { requests: false, releases: false };
  /** How far the job server's clock is known to be ahead of the browser's (ms, at least 0). */
  serverAheadMs = 0;
  /** Outputs asked to be released, and the review of releases (for output checkers). */
  readonly releasing = new ReleaseStore({
    workspace: () => this.name,
    emit: () => this._changed.emit(),
    notify: notice => this.host.releaseNotice(notice),
    released: () => this.releases,
    setReleased: releases => {
      this.releases = releases;
    }
  });
  /** Study runs: their records, the one shown followed live, cancels and collections. */
  readonly runs = new RunStore({
    workspace: () => this.name,
    emit: () => this._changed.emit(),
    onEvent: (kind, data) => this.onEvent(kind, data),
    addParts: parts => {
      this.jobs = withRequests(this.jobs, parts);
    },
    openFolder: (path, show) => this.host.openFolder(path, show)
  });
  /** Jobs whose log so far has been read (later lines come with the events). */
  private logsLoaded = new Set<string>();
  private stream: EventStream | null = null;
  /** For an output checker: releases of every workspace (those waiting for their vote). */
  private reviewStream: EventStream | null = null;
  private _changed = new Signal<this, void>(this);

  /** `pageWorkspace`: the workspace's name as the page says it (so lists need not wait). */
  constructor(
    private host: IPanelHost,
    private pageWorkspace = ''
  ) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** How the event stream is read: `eventsource` (the server's cookie) or `fetch`. */
  get streamMode(): string {
    return this.stream?.mode ?? '';
  }

  get name(): string {
    return this.workspace?.name ?? this.pageWorkspace;
  }

  /**
   * Load everything and follow the workspace's events (and a checker's releases). The
   * lists are read at once, beside the streams, and read once more when a stream first
   * opens (what changed between the two is in that read): the stream only updates them.
   */
  async start(): Promise<void> {
    const me = this.releasing.loadMe();
    const others = Promise.all([this.loadActions(), this.loadBackends()]);
    const workspace = this.loadWorkspace();
    if (!this.name) {
      await workspace; // the page did not say which workspace this is
    }
    if (!this.name) {
      await Promise.all([me, others]);
      this.loaded = { requests: true, releases: true }; // no workspace: nothing to list
      this.releasing.markLoaded('requests', 'queue');
      this._changed.emit();
      return;
    }
    const listed = this.loadLists();
    void workspace.then(() => this.loadDatasets()); // of the workspace's project
    this.stream?.dispose();
    this.stream = new EventStream({
      url: extURL('api/events', { workspace: this.name }),
      onEvent: (kind, data) => this.onEvent(kind, data),
      onOpen: first => {
        this.streamOpen = true;
        this.setError('stream', undefined);
        if (first) {
          void listed.then(() => this.loadLists()); // what changed before it opened (in order)
        }
      },
      onError: message => {
        this.streamOpen = false;
        this.setError('stream', message);
      }
    });
    this.stream.start();
    await me;
    this.reviewStream?.dispose();
    this.reviewStream = null;
    if (this.releasing.canReview) {
      const queued = this.releasing.loadQueue();
      this.reviewStream = new EventStream({
        url: extURL('api/events', { kind: 'release' }),
        kinds: ['release'],
        onEvent: (_, data: IReleaseEvent) => {
          if (data?.workspace !== this.name) {
            void this.releasing.follow(data); // this workspace's come with the stream above
          }
        },
        onOpen: first => {
          this.releasing.streamError(undefined);
          if (first) {
            void queued.then(() => this.releasing.loadQueue()); // what changed before it opened
          }
        },
        onError: message => this.releasing.streamError(message)
      });
      this.reviewStream.start();
    } else {
      this.releasing.markLoaded('queue'); // no queue to read
    }
    await Promise.all([workspace, others]);
  }

  /** The workspace's job requests, released outputs and release requests, by plain reads. */
  private async loadLists(): Promise<void> {
    await Promise.all([
      this.loadRequests(),
      this.runs.loadRuns(),
      this.loadReleases(),
      this.releasing.loadRequests()
    ]);
  }

  dispose(): void {
    this.runs.dispose();
    this.stream?.dispose();
    this.reviewStream?.dispose();
    Signal.clearData(this);
  }

  async refresh(): Promise<void> {
    await Promise.all([
      this.loadWorkspace(),
      this.loadActions(),
      this.loadBackends(), // which are online now
      this.loadRequests(),
      this.runs.loadRuns(),
      this.loadReleases(),
      this.releasing.load()
    ]);
    await this.loadDatasets();
  }

  async loadWorkspace(): Promise<void> {
    await this.guard('workspace', async () => {
      this.workspace = await api.workspace();
    });
  }

  async loadActions(): Promise<void> {
    await this.guard('actions', async () => {
      const answer = await api.actions();
      const jobs = [...this.jobs.requests.values()].flatMap(r => r.jobs);
      this.actions = { ...answer, actions: withLastStates(answer.actions, jobs) };
      const names = new Set(answer.actions.map(a => a.name));
      this.selected = new Set([...this.selected].filter(n => names.has(n)));
    });
  }

  async loadBackends(): Promise<void> {
    await this.guard('submit', async () => {
      this.backends = await api.backends();
      const slugs = this.backends.map(b => b.slug);
      this.chosen = slugs.filter(s => this.chosen.includes(s));
      if (!this.chosen.length && slugs.length) {
        this.chosen = [(this.backends.find(b => b.online) ?? this.backends[0]).slug];
      }
    });
  }

  async loadRequests(): Promise<void> {
    if (!this.name) {
      return;
    }
    await this.guard('requests', async () => {
      const page = await api.jobRequests(this.name);
      this.jobs = withRequests(this.jobs, page.items);
      this.loaded = { ...this.loaded, requests: true };
    });
  }

  async loadReleases(): Promise<void> {
    if (!this.name) {
      return;
    }
    await this.guard('releases', async () => {
      this.releases = (await api.releases(this.name)).items;
      this.loaded = { ...this.loaded, releases: true };
    });
  }

  /** The datasets the project may use now (none without a workspace on the job server). */
  async loadDatasets(): Promise<void> {
    const project = this.workspace?.workspace?.project;
    if (!project) {
      return;
    }
    await this.guard('datasets', async () => {
      this.datasets = await api.datasets(project);
    });
  }

  /** The releases, for the `Released:` drive (read again when older than a few seconds). */
  private releasesAt = 0;
  async currentReleases(): Promise<IRelease[]> {
    if (Date.now() - this.releasesAt > 5000) {
      this.releasesAt = Date.now();
      await this.loadReleases();
    }
    return this.releases;
  }

  onEvent(kind: string, data: any): void {
    if (kind === 'release') {
      void this.releasing.follow(data); // read again through the API, then put in place
      return;
    }
    const before = this.jobs;
    if (kind === 'job') {
      const stamps = [data?.created_at, data?.started_at, data?.completed_at];
      this.serverAheadMs = serverAhead(this.serverAheadMs, stamps, Date.now());
    }
    this.jobs = applyEvent(this.jobs, kind, data);
    if (kind === 'job' && this.actions) {
      this.actions = { ...this.actions, actions: withLastStates(this.actions.actions, [data]) };
    }
    if (kind === 'job_request' && data?.run) {
      this.runs.noteRequest(data);
    }
    for (const request of newlyFinished(before, this.jobs)) {
      if (!request.run) {
        this.host.finished(request);
        continue;
      }
      const run = this.runItem(request.run);
      if (!unfinished(run.state)) {
        this.host.runFinished(run); // once, when its last site finishes
      }
    }
    this.followJob();
    this._changed.emit();
  }

  toggle(action: string, on: boolean): void {
    const selected = new Set(this.selected);
    on ? selected.add(action) : selected.delete(action);
    this.selected = selected;
    this._changed.emit();
  }

  setOption(option: 'forceRunDependencies' | 'notify', value: boolean): void {
    this[option] = value;
    this._changed.emit();
  }

  /** Choose a backend, or not (the choice keeps the order of the list of backends). */
  toggleBackend(slug: string, on: boolean): void {
    const chosen = new Set(this.chosen);
    on ? chosen.add(slug) : chosen.delete(slug);
    this.chosen = this.backends.map(b => b.slug).filter(s => chosen.has(s));
    this._changed.emit();
  }

  /** The first backend chosen ('' when none): what one-backend hints speak of. */
  get backend(): string {
    return this.chosen[0] ?? '';
  }

  get canSubmit(): boolean {
    return this.canRunAll && this.selected.size > 0;
  }

  /** Whether `run_all` can be sent: a backend, a workspace, a valid project.yaml with actions. */
  get canRunAll(): boolean {
    return (
      !this.submitting &&
      this.chosen.length > 0 &&
      !!this.name &&
      !!this.actions?.actions.length &&
      !this.actions.problems.length
    );
  }

  /**
   * Send the selected actions (in file order) or, with `all`, `run_all` as the official
   * tools do: every action that has not succeeded. To one backend it is a job request, which
   * opens with its planned jobs; to several, a study run, which opens as its grid.
   */
  async submit(all = false): Promise<IJobRequest | IStudyRun | null> {
    if (!(all ? this.canRunAll : this.canSubmit)) {
      return null;
    }
    const order = (this.actions?.actions ?? []).map(a => a.name);
    const actions = all ? [RUN_ALL] : order.filter(n => this.selected.has(n));
    this.submitting = true;
    this.setError('submit', undefined);
    const options = { force_run_dependencies: this.forceRunDependencies, notify: this.notify };
    try {
      const workspace = this.name;
      if (this.chosen.length > 1) {
        const run = await api.submitRun({ workspace, backends: this.chosen, actions, ...options });
        this.runs.add(run); // its parts join the job requests; events that came first are kept
        this.openRun(run.id);
        return run;
      }
      const request = await api.submit({ workspace, backend: this.backend, actions, ...options });
      this.jobs = withRequests(this.jobs, [request]); // events that came first are kept
      this.view = { kind: 'request', id: request.id, job: null, follow: true };
      this.followJob();
      return request;
    } catch (error) {
      this.errors = { ...this.errors, submit: errorMessage(error) };
      return null;
    } finally {
      this.submitting = false;
      this._changed.emit();
    }
  }

  showList(): void {
    this.runs.unfollow();
    this.view = { kind: 'list' };
    this._changed.emit();
  }

  openRequest(id: string): void {
    this.runs.unfollow();
    this.view = { kind: 'request', id, job: null, follow: true };
    this.followJob();
    this._changed.emit();
    if (!this.jobs.requests.get(id)?.jobs.length) {
      void this.guard('requests', async () => {
        const listed = await api.jobRequest(id);
        this.jobs = withRequests(this.jobs, [listed]);
        this.followJob();
      });
    }
  }

  /** A study run as its grid, followed live by its own stream. */
  openRun(id: string): void {
    this.view = { kind: 'run', id, job: null };
    this.runs.follow(id);
    this._changed.emit();
    if (!this.runs.records.has(id)) {
      void this.runs.loadRun(id);
    }
  }

  /** Show this job's log (in a request, and stop following the running one). */
  openJob(identifier: string): void {
    if (this.view.kind === 'list') {
      return;
    }
    this.view =
      this.view.kind === 'run'
        ? { ...this.view, job: identifier }
        : { ...this.view, job: identifier, follow: false };
    this.loadJob(identifier);
    this._changed.emit();
  }

  followRunning(): void {
    if (this.view.kind === 'request') {
      this.view = { ...this.view, follow: true };
      this.followJob();
      this._changed.emit();
    }
  }

  get request(): IJobRequest | undefined {
    return this.view.kind === 'request' ? this.jobs.requests.get(this.view.id) : undefined;
  }

  /** The study run shown, with its parts as they are now. */
  get run(): IRunItem | undefined {
    return this.view.kind === 'run' ? this.runItem(this.view.id) : undefined;
  }

  /** A run from its parts known here and its record. */
  runItem(id: string): IRunItem {
    const parts = [...this.jobs.requests.values()].filter(r => r.run === id);
    return runItem(id, parts, this.runs.records.get(id));
  }

  /** A job of any request known here. */
  job(identifier: string): IJob | undefined {
    for (const request of this.jobs.requests.values()) {
      const job = request.jobs.find(j => j.identifier === identifier);
      if (job) {
        return job;
      }
    }
    return undefined;
  }

  /** In a followed request, show the running job (or the last that ran); in a run, the job
   * chosen (its outputs once it has finished). */
  private followJob(): void {
    const view = this.view;
    if (view.kind === 'run' && view.job) {
      this.loadJob(view.job);
    }
    if (view.kind !== 'request') {
      return;
    }
    if (!view.follow) {
      if (view.job) {
        this.loadJob(view.job);
      }
      return;
    }
    const request = this.jobs.requests.get(view.id);
    const job = request && jobToFollow(request);
    if (job && job.identifier !== view.job) {
      this.view = { ...view, job: job.identifier };
    }
    if (job) {
      this.loadJob(job.identifier);
    }
  }

  /** The log so far (lines that came before the stream saw them) and, once finished, the outputs. */
  private loadJob(identifier: string): void {
    if (!this.logsLoaded.has(identifier)) {
      this.logsLoaded.add(identifier);
      void this.guard('requests', async () => {
        const lines = await api.logs(identifier);
        this.jobs = withLogLines(this.jobs, identifier, lines);
      });
    }
    const job = this.job(identifier);
    if (job && (job.state === 'succeeded' || job.state === 'failed') && !this.outputs.has(identifier)) {
      this.outputs.set(identifier, []);
      void this.guard('requests', async () => {
        this.outputs.set(identifier, await api.outputs(identifier));
      });
    }
  }

  openFileAt(path: string, line?: number | null, column?: number | null): void {
    this.host.openFileAt(path, line, column);
  }

  openReleased(release: IRelease, path: string): void {
    this.host.openReleased(release, path);
  }

  private setError(key: ErrorKey, message: string | undefined): void {
    const errors = withError(this.errors, key, message);
    if (errors !== this.errors) {
      this.errors = errors;
      this._changed.emit();
    }
  }

  /** Run a load; its failure is shown where it belongs, its success clears that. */
  private async guard(key: ErrorKey, work: () => Promise<void>): Promise<void> {
    this.errors = withError(this.errors, key, await failure(work));
    this._changed.emit();
  }
}
