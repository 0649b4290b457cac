/**
 * The panel's logic, free of JupyterLab: the actions as a dependency tree, the
 * job requests kept up to date from the event stream, job timelines, and the
 * released files as a folder tree. Unit-tested with jest (src/__tests__).
 */
import type {
  IActionStatus,
  IJob,
  IJobRequest,
  ILogLine,
  IReleaseFile,
  JobRequestState,
  JobState
} from './types';

// -- the actions of project.yaml as a tree ------------------------------------

export interface IActionRow {
  action: IActionStatus;
  /** Indentation: the longest chain of needs above it. */
  depth: number;
  /** The need it is drawn under (the deepest one), or null for a root. */
  parent: string | null;
  /** Its other needs, named beside it since a tree draws only one. */
  alsoNeeds: string[];
}

/**
 * Rows in the order to draw them: each action under its deepest need, so an
 * action that needs several others sits below the last of them to finish.
 * Needs naming unknown actions are ignored; a cycle is cut where it closes.
 */
export function actionTree(actions: IActionStatus[]): IActionRow[] {
  const byName = new Map(actions.map(a => [a.name, a]));
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (name: string): number => {
    const known = depth.get(name);
    if (known !== undefined) {
      return known;
    }
    if (visiting.has(name)) {
      return 0;
    }
    visiting.add(name);
    const needs = byName.get(name)!.needs.filter(n => byName.has(n) && n !== name);
    const value = needs.length ? 1 + Math.max(...needs.map(depthOf)) : 0;
    visiting.delete(name);
    depth.set(name, value);
    return value;
  };
  const parentOf = new Map<string, string | null>();
  const children = new Map<string, string[]>();
  for (const action of actions) {
    const d = depthOf(action.name);
    const needs = action.needs.filter(n => byName.has(n) && depth.get(n)! < d);
    let parent: string | null = null;
    for (const need of needs) {
      if (parent === null || depth.get(need)! > depth.get(parent)!) {
        parent = need;
      }
    }
    parentOf.set(action.name, parent);
    if (parent !== null) {
      children.set(parent, [...(children.get(parent) ?? []), action.name]);
    }
  }
  const rows: IActionRow[] = [];
  const placed = new Set<string>();
  const place = (name: string, level: number) => {
    if (placed.has(name)) {
      return;
    }
    placed.add(name);
    const action = byName.get(name)!;
    const parent = parentOf.get(name) ?? null;
    rows.push({
      action,
      depth: level,
      parent,
      alsoNeeds: action.needs.filter(n => n !== parent)
    });
    for (const child of children.get(name) ?? []) {
      place(child, level + 1);
    }
  };
  for (const action of actions) {
    if (parentOf.get(action.name) === null) {
      place(action.name, 0);
    }
  }
  for (const action of actions) {
    place(action.name, 0); // anything a cycle left out
  }
  return rows;
}

/** The selected actions and every action they need, in file order. */
export function withNeeds(selected: Iterable<string>, actions: IActionStatus[]): string[] {
  const byName = new Map(actions.map(a => [a.name, a]));
  const wanted = new Set<string>();
  const add = (name: string) => {
    if (wanted.has(name) || !byName.has(name)) {
      return;
    }
    wanted.add(name);
    byName.get(name)!.needs.forEach(add);
  };
  [...selected].forEach(add);
  return actions.filter(a => wanted.has(a.name)).map(a => a.name);
}

/** The actions with each job's state as its action's last state on its backend. */
export function withLastStates(actions: IActionStatus[], jobs: IJob[]): IActionStatus[] {
  const latest = new Map<string, IJob>();
  for (const job of jobs) {
    const key = `${job.action}\u0000${job.backend}`;
    const seen = latest.get(key);
    if (!seen || seen.created_at <= job.created_at) {
      latest.set(key, job);
    }
  }
  return actions.map(action => {
    let states = action.last_state;
    for (const job of latest.values()) {
      if (job.action === action.name && states[job.backend] !== job.state) {
        states = { ...states, [job.backend]: job.state };
      }
    }
    return states === action.last_state ? action : { ...action, last_state: states };
  });
}

// -- job requests, kept live from the event stream ----------------------------

export const FINISHED: ReadonlySet<string> = new Set([
  'succeeded',
  'failed',
  'cancelled',
  'nothing_to_do'
]);

/** As the job server derives it (jobserver/views.py job_request_state). */
export function requestState(jobs: Pick<IJob, 'state'>[]): JobRequestState {
  const states = new Set<JobState>(jobs.map(j => j.state));
  if (states.size === 0) {
    return 'nothing_to_do';
  }
  if (states.has('running')) {
    return 'running';
  }
  if (states.has('pending')) {
    return states.size > 1 ? 'running' : 'pending';
  }
  if (states.has('failed')) {
    return 'failed';
  }
  return states.has('succeeded') ? 'succeeded' : 'cancelled';
}

export interface IJobsState {
  /** By id; each with its jobs. */
  requests: ReadonlyMap<string, IJobRequest>;
  /** Log lines by job identifier, in order, without repeats. */
  logs: ReadonlyMap<string, ILogLine[]>;
}

export const LOG_LINES_KEPT = 5000;

export function emptyState(): IJobsState {
  return { requests: new Map(), logs: new Map() };
}

/**
 * Listed requests merged into what is known: a list read while events arrive may be
 * older than they are, so each job keeps whichever of its two shapes is further on.
 */
export function withRequests(state: IJobsState, listed: IJobRequest[]): IJobsState {
  const requests = new Map(state.requests);
  for (const request of listed) {
    const known = requests.get(request.id);
    let jobs = [...request.jobs];
    if (known) {
      const mine = new Map(known.jobs.map(j => [j.identifier, j]));
      jobs = jobs.map(j => (mine.has(j.identifier) ? newer(mine.get(j.identifier)!, j) : j));
      const listedIds = new Set(jobs.map(j => j.identifier));
      jobs.push(...known.jobs.filter(j => !listedIds.has(j.identifier)));
    }
    requests.set(request.id, { ...request, jobs, state: jobs.length ? requestState(jobs) : request.state });
  }
  return { ...state, requests };
}

/** One event of the stream (kind `job_request`, `job` or `log`) applied; others change nothing. */
export function applyEvent(state: IJobsState, kind: string, data: any): IJobsState {
  if (kind === 'job_request') {
    const known = state.requests.get(data.id);
    const jobs: IJob[] = known?.jobs ?? data.jobs ?? [];
    const merged: IJobRequest = { ...data, jobs };
    if (jobs.length) {
      merged.state = requestState(jobs);
    }
    return { ...state, requests: new Map(state.requests).set(data.id, merged) };
  }
  if (kind === 'job') {
    const job = data as IJob;
    const known = state.requests.get(job.job_request) ?? stubRequest(job);
    const jobs = known.jobs.some(j => j.identifier === job.identifier)
      ? known.jobs.map(j => (j.identifier === job.identifier ? newer(j, job) : j))
      : [...known.jobs, job];
    const request = { ...known, jobs, state: requestState(jobs) };
    return { ...state, requests: new Map(state.requests).set(request.id, request) };
  }
  if (kind === 'log') {
    const lines = (data.lines as [number, string][]).map(([seq, text]) => ({ seq, text }));
    return withLogLines(state, data.job, lines);
  }
  return state;
}

const PROGRESS: Record<string, number> = { pending: 0, running: 1 };

/** A job's state only moves forward: a late or stale shape never undoes a start or a finish. */
export function newer(before: IJob, after: IJob): IJob {
  const rank = (j: IJob) => PROGRESS[j.state] ?? 2;
  return rank(after) >= rank(before) ? after : before;
}

function stubRequest(job: IJob): IJobRequest {
  return {
    id: job.job_request,
    workspace: job.workspace,
    project: '',
    backend: job.backend,
    sha: '',
    actions: [],
    force_run_dependencies: false,
    notify: false,
    state: 'pending',
    created_by: '',
    created_at: job.created_at,
    jobs: []
  };
}

export function withLogLines(state: IJobsState, job: string, lines: ILogLine[]): IJobsState {
  const merged = mergeLines(state.logs.get(job) ?? [], lines);
  return { ...state, logs: new Map(state.logs).set(job, merged) };
}

/** Lines by sequence number: repeats dropped, order kept, the newest LOG_LINES_KEPT kept. */
export function mergeLines(known: ILogLine[], incoming: ILogLine[]): ILogLine[] {
  const last = known.length ? known[known.length - 1].seq : -1;
  if (incoming.every((line, i) => line.seq > (i ? incoming[i - 1].seq : last))) {
    const all = known.concat(incoming); // the usual case: lines arrive in order
    return all.length > LOG_LINES_KEPT ? all.slice(-LOG_LINES_KEPT) : all;
  }
  const bySeq = new Map(known.map(l => [l.seq, l]));
  incoming.forEach(l => bySeq.set(l.seq, l));
  const all = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  return all.length > LOG_LINES_KEPT ? all.slice(-LOG_LINES_KEPT) : all;
}

/** Newest first. */
export function sortedRequests(state: IJobsState, workspace?: string): IJobRequest[] {
  return [...state.requests.values()]
    .filter(r => !workspace || r.workspace === workspace)
    .sort((a, b) => (a.created_at === b.created_at ? cmp(b.id, a.id) : cmp(b.created_at, a.created_at)));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Requests that were unfinished in `before` and are finished in `after`. */
export function newlyFinished(before: IJobsState, after: IJobsState): IJobRequest[] {
  const done: IJobRequest[] = [];
  for (const [id, request] of after.requests) {
    const was = before.requests.get(id);
    if (was && !FINISHED.has(was.state) && FINISHED.has(request.state)) {
      done.push(request);
    }
  }
  return done;
}

/** The job to follow in a request: the running one, else the last started, else the first. */
export function jobToFollow(request: IJobRequest): IJob | undefined {
  const running = request.jobs.find(j => j.state === 'running');
  if (running) {
    return running;
  }
  const started = request.jobs.filter(j => j.started_at);
  started.sort((a, b) => cmp(a.started_at!, b.started_at!));
  return started.length ? started[started.length - 1] : request.jobs[0];
}

// -- timelines ---------------------------------------------------------------

export interface ITimelineBar {
  job: IJob;
  /** Fractions of the whole span (0..1): waiting from `start`, running from `runStart`. */
  start: number;
  runStart: number | null;
  end: number;
  waitedMs: number;
  ranMs: number | null;
}

export interface ITimeline {
  bars: ITimelineBar[];
  spanMs: number;
}

/**
 * Where each job waited and ran, on one scale from the first job's creation to now or
 * the last end; `now` is the job server's time (the browser's clock and how far the
 * server's is ahead). No length is negative, whatever the clocks say.
 */
export function timeline(jobs: IJob[], now: number): ITimeline {
  if (!jobs.length) {
    return { bars: [], spanMs: 0 };
  }
  const t = (s: string | null) => (s ? Date.parse(s) : null);
  const origin = Math.min(...jobs.map(j => t(j.created_at)!));
  const endOf = (j: IJob) => t(j.completed_at) ?? (FINISHED.has(j.state) ? t(j.started_at) ?? t(j.created_at)! : now);
  const last = Math.max(...jobs.map(endOf));
  const spanMs = Math.max(last - origin, 1);
  const bars = jobs.map(job => {
    const created = t(job.created_at)!;
    const started = t(job.started_at);
    const end = Math.max(endOf(job), created);
    // never negative: a start stamped by the job server's clock may be after `now`
    const runStart = started === null ? null : Math.min(started, end);
    return {
      job,
      start: (created - origin) / spanMs,
      runStart: runStart === null ? null : (runStart - origin) / spanMs,
      end: (end - origin) / spanMs,
      waitedMs: Math.max(0, (runStart ?? end) - created),
      ranMs: runStart === null ? null : end - runStart
    };
  });
  return { bars, spanMs };
}

// -- released files ------------------------------------------------------------

export interface IFileRow {
  name: string;
  /** The folder path or the file's path. */
  path: string;
  depth: number;
  file: IReleaseFile | null;
}

/** The files that can be fetched (released and uploaded) as folders and files, sorted. */
export function fileTree(files: IReleaseFile[]): IFileRow[] {
  const ready = files.filter(f => f.state === 'released' && f.uploaded);
  ready.sort((a, b) => cmp(a.path, b.path));
  const rows: IFileRow[] = [];
  const folders = new Set<string>();
  for (const file of ready) {
    const parts = file.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const folder = parts.slice(0, i).join('/');
      if (!folders.has(folder)) {
        folders.add(folder);
        rows.push({ name: parts[i - 1], path: folder, depth: i - 1, file: null });
      }
    }
    rows.push({ name: parts[parts.length - 1], path: file.path, depth: parts.length - 1, file });
  }
  return rows;
}

const MIMETYPES: Record<string, string> = {
  csv: 'text/csv',
  txt: 'text/plain',
  log: 'text/plain',
  md: 'text/markdown',
  json: 'application/json',
  html: 'text/html',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  svg: 'image/svg+xml'
};

/** How a released file is handed to JupyterLab: its mimetype and the contents format. */
export function fileKind(path: string): { mimetype: string; format: 'text' | 'base64' } {
  const suffix = path.includes('.') ? path.split('.').pop()!.toLowerCase() : '';
  const mimetype = MIMETYPES[suffix] ?? 'application/octet-stream';
  const text = mimetype.startsWith('text/') || mimetype === 'application/json' || suffix === 'svg';
  return { mimetype, format: text ? 'text' : 'base64' };
}

/** `line 12, column 3: message` (what a problem of project.yaml says, with where). */
export function problemLabel(problem: { message: string; line?: number | null; column?: number | null }): string {
  if (!problem.line) {
    return problem.message;
  }
  const where = problem.column ? `line ${problem.line}, column ${problem.column}` : `line ${problem.line}`;
  return `${where}: ${problem.message}`;
}
