/**
 * What the server extension and the job server answer, named as in
 * jupyter_ext/schema (Job, JobRequest, StudyRun, RunSite, LogLine, Output, Release,
 * ReleaseFile, Backend, FileCheck, User) and jupyter_ext/serverext (workspace, actions,
 * check, collect).
 */

export type JobState = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export type JobRequestState = JobState | 'nothing_to_do';

export interface IJob {
  identifier: string;
  job_request: string;
  workspace: string;
  backend: string;
  action: string;
  state: JobState;
  status_message: string;
  exit_code: number | null;
  needs: string[];
  wait_for: string[];
  runner: string | null;
  /** A notebook action's values: its config and the request's overrides. */
  parameters?: Record<string, unknown>;
  cancelled_by: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  /** What it used, as its runner measured it; absent until it ends. */
  usage?: IJobUsage | null;
  /** What its action asked to run with (resources.yaml); null: the backend's defaults. */
  resources?: IJobResources | null;
}

/** What an action asked for (null: the backend's default): schema.JobResources. */
export interface IJobResources {
  cpus: number | null;
  memory_mb: number | null;
  /** Seconds. */
  time_limit: number | null;
}

/** What one job used (null where its executor cannot know): schema.JobUsage. */
export interface IJobUsage {
  cpu_seconds: number | null;
  wall_seconds: number;
  peak_memory_bytes: number | null;
  bytes_written: number | null;
}

export interface IJobRequest {
  id: string;
  workspace: string;
  project: string;
  backend: string;
  sha: string;
  actions: string[];
  force_run_dependencies: boolean;
  notify: boolean;
  state: JobRequestState;
  created_by: string;
  created_at: string;
  jobs: IJob[];
  /** The study run it is one site's part of. */
  run?: string | null;
  /** The schedule whose firing made it. */
  schedule?: string | null;
  /** Overrides of notebook actions' parameters, per action. */
  parameters?: Record<string, Record<string, unknown>>;
  /** Said once, in the reply that makes it. */
  warnings?: string[];
}

export interface IJobRequestCreate {
  workspace: string;
  backend: string;
  actions: string[];
  force_run_dependencies: boolean;
  notify: boolean;
}

/** `POST api/runs`: one submission at several sites, a job request at each, at one commit. */
export interface IStudyRunCreate {
  workspace: string;
  backends: string[];
  actions: string[];
  force_run_dependencies: boolean;
  notify: boolean;
}

/** One site's part of a study run: its job request and how far it is. */
export interface IRunSite {
  backend: string;
  state: JobRequestState;
  /** Why it waits or failed: "waiting for south: last seen 12 minutes ago". */
  message: string;
  online: boolean;
  last_seen_at: string | null;
  job_request: IJobRequest;
}

export interface IStudyRun {
  id: string;
  workspace: string;
  project: string;
  sha: string;
  actions: string[];
  force_run_dependencies: boolean;
  notify: boolean;
  state: JobRequestState;
  /** Each site in a word: "north succeeded, south running". */
  summary: string;
  created_by: string;
  created_at: string;
  sites: IRunSite[];
}

/** One file `POST jupyter-ext/collect` wrote: `path` is `<backend>/<path>` in the folder. */
export interface ICollectedFile {
  site: string;
  path: string;
  release: string;
  release_file: string;
  job: string;
  action: string;
  sha256: string;
  size: number;
}

/** `POST jupyter-ext/collect`: the manifest of what was written, and why a site has nothing. */
export interface ICollected {
  run: string;
  /** From the top of the workspace, as the file browser shows it. */
  folder: string;
  files: ICollectedFile[];
  missing: Record<string, string>;
  complete: boolean;
}

export interface ILogLine {
  seq: number;
  text: string;
  at?: string | null;
}

export interface IOutput {
  path: string;
  size: number;
  sha256: string;
  privacy_level: string;
  /** What the site's pre-release rules found when the job ended. */
  check?: IFileCheck | null;
}

/** `refuse`: cannot be asked for until fixed; `flag`: the checkers see it beside the file. */
export type Verdict = 'refuse' | 'flag';

export interface IFinding {
  /** type, size, rows, forbidden_column, small_number, rounding, midpoint_rounding,
   * suppression_marker, unreadable (and differencing, from the job server) */
  rule: string;
  verdict: Verdict;
  message: string;
  /** (data row from 1, column name) of small counts: where, never the value. */
  cells?: [number, string][];
}

export interface IFileCheck {
  path: string;
  findings: IFinding[];
  rows?: number | null;
  columns?: string[] | null;
  /** A CSV/TSV table's summary, made on its site: no cell of it. */
  summary?: ITableSummary | null;
}

/** One column of a table's summary (schema.ColumnSummary); figures only if numeric. */
export interface IColumnSummary {
  name: string;
  numeric: boolean;
  numbers?: number;
  empty?: number;
  /** Cells holding each suppression marker seen. */
  markers?: Record<string, number>;
  minimum?: number | null;
  minimum_above_zero?: number | null;
  maximum?: number | null;
  total?: number | null;
  /** Numbers from above 0 up to the threshold. */
  under_threshold?: number;
  rounded_to_5?: boolean;
  rounded_to_10?: boolean;
  midpoint_6?: boolean;
  /** A column that identifies people: named only. */
  withheld?: boolean;
}

/** schema.TableSummary: what a checker reads instead of the table. */
export interface ITableSummary {
  rows: number;
  threshold: number;
  columns: IColumnSummary[];
  ragged_rows?: number;
}

/** `POST jupyter-ext/check`: a job's outputs (with `job`), else files of the workspace. */
export interface ICheckRequest {
  paths: string[];
  job?: string;
  backend?: string;
}

export interface IUser {
  username: string;
  fullname?: string;
  roles: string[];
}

export interface IBackend {
  slug: string;
  name: string;
  online: boolean;
  executor: string | null;
}

export type Decision = 'approve' | 'request_changes' | 'reject';

export interface IReview {
  reviewer: string;
  decision: Decision;
  comment: string;
  created_at?: string;
}

export interface IComment {
  author: string;
  text: string;
  created_at: string;
}

export interface IReleaseFile {
  id: string;
  group: string;
  path: string;
  job: string;
  sha256: string;
  size: number;
  /** requested, in_review, approved, changes_requested, rejected, superseded, released, withdrawn */
  state: string;
  uploaded: boolean;
  /** The site has sent it for the output checkers to read. */
  review_copy?: boolean;
  version?: number;
  deleted?: boolean;
  findings?: IFinding[];
  rows?: number | null;
  columns?: string[] | null;
  summary?: ITableSummary | null;
  /** Tables the project released that share rows with its review copy (differencing). */
  overlaps?: IOverlap[];
  /** Shown once the caller has voted, or all have voted. */
  reviews?: IReview[];
  comments?: IComment[];
}

/**
 * schema.Overlap: a released table sharing rows with a file under review, named by its
 * path and ids, never by a value.
 */
export interface IOverlap {
  /** The released file's id. */
  file: string;
  /** The id of the release that published it. */
  release: string;
  workspace: string;
  path: string;
  /** Rows of the reviewed file matched on the key columns. */
  rows: number;
  /** (data row from 1, column) of cells that differ by a small count: the first 20. */
  cells?: [number, string][];
  /** How many cells differ by a small count in all. */
  flagged?: number;
}

export interface IReleaseGroup {
  context: string;
  disclosure_control: string;
}

export interface IRelease {
  id: string;
  workspace: string;
  backend: string;
  state: string;
  groups?: Record<string, IReleaseGroup>;
  created_by: string;
  created_at: string;
  published_at: string | null;
  files: IReleaseFile[];
}

export interface IReleaseCreate {
  workspace: string;
  backend: string;
  groups: Record<string, IReleaseGroup & { files: { job: string; path: string }[] }>;
}

export interface IPage<T> {
  items: T[];
  next: string | null;
}

/** `GET jupyter-ext/workspace`. */
export interface ICheckout {
  is_repository: boolean;
  branch?: string;
  head?: string;
  upstream?: string | null;
  uncommitted?: string[];
  uncommitted_count?: number;
  unpushed?: number;
  behind?: number;
  warnings: string[];
}

export interface IWorkspace {
  name: string;
  project: string;
  repo: string;
  branch: string;
}

export interface IWorkspaceInfo {
  name: string;
  workspace: IWorkspace | null;
  jobserver_error: string | null;
  checkout: ICheckout;
}

/** `GET jupyter-ext/actions`. */
export interface IActionStatus {
  name: string;
  needs: string[];
  run: string;
  line: number | null;
  outputs: Record<string, Record<string, string>>;
  last_state: Record<string, JobState>;
}

export interface IProblem {
  message: string;
  line: number | null;
  column?: number | null;
  path?: string | null;
  code?: string;
}

export interface IActions {
  file: string;
  sha: string | null;
  actions: IActionStatus[];
  problems: IProblem[];
  warnings: IProblem[];
  jobserver_error: string | null;
}

/** One message of `GET api/events` (Server-Sent Events). */
export interface IServerEvent {
  id: string | null;
  event: string;
  data: string;
}

/** `GET api/datasets?project=`: a backend's dataset (jupyter_ext/schema/datasets.py). */
export interface IColumn {
  name: string;
  type: string;
}

export interface IManifestFile {
  path: string;
  size: number;
  sha256: string;
  rows?: number | null;
  columns?: IColumn[] | null;
}

export interface IManifest {
  files: IManifestFile[];
  sha256: string;
}

export interface IDatasetVersion {
  version: number;
  manifest: IManifest;
  dummy?: IManifest | null;
  created_at: string;
}

export interface IDataset {
  name: string;
  backend: string;
  description: string;
  owner: string;
  status: 'active' | 'retired';
  versions: IDatasetVersion[];
  created_at: string;
}
