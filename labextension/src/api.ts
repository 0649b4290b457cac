/**
 * Requests to the server extension's handlers under `{base}jupyter-ext/`: the
 * workspace, the actions, and the job server's API through its proxy (which adds
 * the user's token on the server: the browser never holds one).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type {
  Decision,
  IActions,
  IBackend,
  ICheckRequest,
  ICollected,
  IDataset,
  IFileCheck,
  IJobRequest,
  IJobRequestCreate,
  ILogLine,
  IOutput,
  IPage,
  IRelease,
  IReleaseCreate,
  IStudyRun,
  IStudyRunCreate,
  IUser,
  IWorkspaceInfo
} from './types';

export const NAMESPACE = 'jupyter-ext';

/** A URL under `{base}jupyter-ext/`, with a query. */
export function extURL(
  path: string,
  query: Record<string, string | number | undefined> = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): string {
  const url = URLExt.join(settings.baseUrl, NAMESPACE, path);
  const params = Object.entries(query)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return params.length ? `${url}?${params.join('&')}` : url;
}

/** The answer of one request as JSON; a refusal throws `ResponseError` with the server's sentence. */
export async function requestAPI<T>(
  path: string,
  init: RequestInit = {},
  query: Record<string, string | number | undefined> = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const response = await send(extURL(path, query, settings), init, settings);
  const text = await response.text();
  return (text ? JSON.parse(text) : null) as T;
}

/** The response itself (bodies of released files, event streams), once it said yes. */
export async function send(
  url: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<Response> {
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  if (!response.ok) {
    throw new ServerConnection.ResponseError(response, await reason(response));
  }
  return response;
}

async function reason(response: Response): Promise<string> {
  const text = await response.text();
  try {
    const body = JSON.parse(text);
    const detail = body.detail ?? body.message ?? body.reason;
    if (typeof detail === 'string') {
      return detail;
    }
    if (Array.isArray(detail)) {
      return detail.map((d: any) => d.msg ?? JSON.stringify(d)).join('; ');
    }
  } catch {
    // not JSON: the text says it
  }
  return text || `${response.status} ${response.statusText}`;
}

/** What the server said went wrong, for the panel and notifications. */
export function errorMessage(error: unknown): string {
  if (error instanceof ServerConnection.ResponseError) {
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

const json = (body: unknown): RequestInit => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'Content-Type': 'application/json' }
});

export const api = {
  workspace: () => requestAPI<IWorkspaceInfo>('workspace'),
  actions: () => requestAPI<IActions>('actions'),
  backends: () => requestAPI<IBackend[]>('api/backends'),
  jobRequests: (workspace: string, limit = 50) =>
    requestAPI<IPage<IJobRequest>>('api/job-requests', {}, { workspace, limit }),
  jobRequest: (id: string) => requestAPI<IJobRequest>(`api/job-requests/${encodeURIComponent(id)}`),
  submit: (body: IJobRequestCreate) => requestAPI<IJobRequest>('api/job-requests', json(body)),
  /** Study runs: one submission at several sites. */
  runs: (workspace: string, limit = 50) =>
    requestAPI<IPage<IStudyRun>>('api/runs', {}, { workspace, limit }),
  run: (id: string) => requestAPI<IStudyRun>(`api/runs/${encodeURIComponent(id)}`),
  submitRun: (body: IStudyRunCreate) => requestAPI<IStudyRun>('api/runs', json(body)),
  /** Every site's unfinished jobs, or only those at `backend`. */
  cancelRun: (id: string, backend?: string) =>
    requestAPI<IStudyRun>(`api/runs/${encodeURIComponent(id)}/cancel`, { method: 'POST' }, { backend }),
  /** Every site's released outputs of a run into `folder` of the workspace (the server's). */
  collect: (run: string, folder: string) => requestAPI<ICollected>('collect', json({ run, folder })),
  logs: (job: string, after = -1) =>
    requestAPI<ILogLine[]>(`api/jobs/${encodeURIComponent(job)}/logs`, {}, { after, limit: 10000 }),
  outputs: (job: string) => requestAPI<IOutput[]>(`api/jobs/${encodeURIComponent(job)}/outputs`),
  cancel: (job: string) =>
    requestAPI<unknown>(`api/jobs/${encodeURIComponent(job)}/cancel`, { method: 'POST' }),
  releases: (workspace: string) =>
    requestAPI<IPage<IRelease>>('api/releases', {}, { workspace, state: 'released', limit: 100 }),
  me: () => requestAPI<IUser>('api/me'),
  /** The datasets `project` may use now, with their manifests. */
  datasets: (project: string) => requestAPI<IDataset[]>('api/datasets', {}, { project }),
  /** The backend's pre-release rules over a job's outputs (or files of the workspace). */
  check: (body: ICheckRequest) => requestAPI<IFileCheck[]>('check', json(body)),
  requestRelease: (body: IReleaseCreate) => requestAPI<IRelease>('api/releases', json(body)),
  /** Release requests under review: of one workspace, or (for a checker) all one may see. */
  requested: (workspace?: string) =>
    requestAPI<IPage<IRelease>>('api/releases', {}, { workspace, state: 'requested', limit: 100 }),
  /** One release as the caller may see it (read again when the stream says it changed). */
  release: (id: string) => requestAPI<IRelease>(`api/releases/${encodeURIComponent(id)}`),
  vote: (release: string, file: string, decision: Decision, comment: string) =>
    requestAPI<IRelease>(
      `api/releases/${encodeURIComponent(release)}/files/${encodeURIComponent(file)}/reviews`,
      json({ decision, comment })
    ),
  /** A file under review, as its site sent it for the output checkers (sandboxed by the job
   * server, never to its author; every read audited), opened in a tab of its own. */
  reviewCopyURL: (release: string, file: string) =>
    extURL(
      `api/releases/${encodeURIComponent(release)}/files/${encodeURIComponent(file)}/review-copy`
    ),
  /** A released file's address (sandboxed by the job server), for downloads. */
  fileURL: (id: string) => extURL(`files/${encodeURIComponent(id)}`),
  file: (id: string) => send(extURL(`files/${encodeURIComponent(id)}`))
};
