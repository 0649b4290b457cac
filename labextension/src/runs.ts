/**
 * Study runs (one submission at several sites), free of JupyterLab: a run's job requests
 * (one per site, each carrying `run`) shown as one item of the list of requests, a run
 * opened as a grid of actions (rows) by sites (columns), and what a collection wrote per
 * site. Live states come from the jobs (kept by model.ts from the event streams); the run's
 * record (`GET api/runs/{id}`) adds what only the job server knows: each site's message
 * ("waiting for south: last seen 12 minutes ago") and whether its runner is online.
 */
import { FINISHED, requestState } from './model';
import type { ICollected, ICollectedFile, IJob, IJobRequest, IStudyRun, JobRequestState } from './types';

/** One site's part of a run as the panel draws it. */
export interface IRunSiteView {
  backend: string;
  state: JobRequestState;
  /** The job server's sentence for it ('' when its state says it all, or it has moved on). */
  message: string;
  /** Its runner was seen lately (null: not known yet). */
  online: boolean | null;
  part: IJobRequest;
}

export interface IRunItem {
  id: string;
  workspace: string;
  sha: string;
  actions: string[];
  force_run_dependencies: boolean;
  created_by: string;
  created_at: string;
  state: JobRequestState;
  /** By backend, as the job server orders them. */
  sites: IRunSiteView[];
}

export type ListItem = { kind: 'request'; request: IJobRequest } | { kind: 'run'; run: IRunItem };

/** A part's state from its jobs (as they change live), else as it was read. */
export function partState(part: IJobRequest): JobRequestState {
  return part.jobs.length ? requestState(part.jobs) : part.state;
}

/**
 * As the job server derives it (jobserver/run_views.py run_state): running while any site
 * runs; then failed if any failed, cancelled if any was, succeeded when every site succeeded
 * (or had nothing to do).
 */
export function runState(states: JobRequestState[]): JobRequestState {
  if (states.some(s => s === 'pending' || s === 'running')) {
    return states.some(s => s !== 'pending') ? 'running' : 'pending';
  }
  if (states.includes('failed')) {
    return 'failed';
  }
  if (states.includes('cancelled')) {
    return 'cancelled';
  }
  if (states.length && states.every(s => s === 'nothing_to_do')) {
    return 'nothing_to_do';
  }
  return 'succeeded';
}

export function unfinished(state: string): boolean {
  return !FINISHED.has(state);
}

/**
 * A run from its parts known to the panel and its record (either may be missing: a part
 * seen in the list or an event before the record was read, or a part not read yet).
 */
export function runItem(id: string, parts: IJobRequest[], record?: IStudyRun): IRunItem {
  const known = new Map(parts.map(p => [p.backend, p]));
  const listed = new Map((record?.sites ?? []).map(s => [s.backend, s]));
  const backends = [...new Set([...listed.keys(), ...known.keys()])].sort();
  const sites = backends.map(backend => {
    const site = listed.get(backend);
    const part = known.get(backend) ?? site!.job_request;
    const state = partState(part);
    // the record's sentence holds while the site is where the record saw it
    const message = site && site.state === state ? site.message : '';
    return { backend, state, message, online: site ? site.online : null, part };
  });
  const first = sites[0]?.part;
  const created = sites.map(s => s.part.created_at).sort()[0] ?? '';
  return {
    id,
    workspace: record?.workspace ?? first?.workspace ?? '',
    sha: record?.sha ?? first?.sha ?? '',
    actions: record?.actions ?? first?.actions ?? [],
    force_run_dependencies: record?.force_run_dependencies ?? first?.force_run_dependencies ?? false,
    created_by: record?.created_by ?? first?.created_by ?? '',
    created_at: record?.created_at ?? created,
    state: sites.length ? runState(sites.map(s => s.state)) : 'pending', // not read yet
    sites
  };
}

/**
 * The list of requests, newest first: a request on its own, or a run as one item holding its
 * parts (runs of `workspace` read but with no part known yet are there too).
 */
export function listItems(
  requests: IJobRequest[],
  runs: ReadonlyMap<string, IStudyRun>,
  workspace?: string
): ListItem[] {
  const parts = new Map<string, IJobRequest[]>();
  const items: ListItem[] = [];
  for (const request of requests) {
    if (request.run) {
      parts.set(request.run, [...(parts.get(request.run) ?? []), request]);
    } else {
      items.push({ kind: 'request', request });
    }
  }
  for (const record of runs.values()) {
    if ((!workspace || record.workspace === workspace) && !parts.has(record.id)) {
      parts.set(record.id, []);
    }
  }
  for (const [id, mine] of parts) {
    items.push({ kind: 'run', run: runItem(id, mine, runs.get(id)) });
  }
  const key = (item: ListItem) =>
    item.kind === 'run' ? [item.run.created_at, item.run.id] : [item.request.created_at, item.request.id];
  return items.sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    return x[0] === y[0] ? cmp(y[1], x[1]) : cmp(y[0], x[0]);
  });
}

export interface IRunGrid {
  sites: string[];
  /** One row per action, a cell per site: its job there, or null where none was planned. */
  rows: { action: string; cells: (IJob | null)[] }[];
}

/**
 * Actions (rows) by sites (columns). Rows follow `order` (project.yaml's), then any other
 * action in the order the sites' jobs name them (each site plans only what it still needs).
 */
export function runGrid(run: IRunItem, order: string[] = []): IRunGrid {
  const sites = run.sites.map(s => s.backend);
  const seen: string[] = [];
  for (const site of run.sites) {
    for (const job of site.part.jobs) {
      if (!seen.includes(job.action)) {
        seen.push(job.action);
      }
    }
  }
  const rank = (action: string) => {
    const at = order.indexOf(action);
    return at < 0 ? order.length + seen.indexOf(action) : at;
  };
  seen.sort((a, b) => rank(a) - rank(b));
  const rows = seen.map(action => ({
    action,
    cells: run.sites.map(site => site.part.jobs.find(j => j.action === action) ?? null)
  }));
  return { sites, rows };
}

export interface ISiteCollected {
  site: string;
  /** Paths of the outputs written, as the site's job wrote them. */
  files: string[];
  /** Why nothing of this site was written ('' when files were). */
  missing: string;
}

/** What a collection wrote and what it could not, site by site (the run's sites first). */
export function collectedBySite(result: ICollected, sites: string[]): ISiteCollected[] {
  const all = [...new Set([...sites, ...result.files.map(f => f.site), ...Object.keys(result.missing)])];
  return all.map(site => ({
    site,
    files: result.files.filter((f: ICollectedFile) => f.site === site).map(f => withoutSite(f.path, site)),
    missing: result.missing[site] ?? ''
  }));
}

function withoutSite(path: string, site: string): string {
  return path.startsWith(`${site}/`) ? path.slice(site.length + 1) : path;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
