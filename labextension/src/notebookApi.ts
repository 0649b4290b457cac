/**
 * The notebook toolbar's requests: the server extension's `notebook-action` and
 * `git/commit-push`, and a job request with parameter overrides through the job server's
 * proxy (the same path the Jobs panel submits to).
 */
import { requestAPI } from './api';
import type {
  IAddAction,
  IAddedAction,
  ICommitPush,
  INotebookActionInfo,
  IParameterisedRequest,
  IRequestWithWarnings
} from './notebookAction';

const json = (body: unknown): RequestInit => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'Content-Type': 'application/json' }
});

export const notebookApi = {
  /** Whether the notebook is an action, its parameters, or the entry proposed for it. */
  info: (path: string) => requestAPI<INotebookActionInfo>('notebook-action', {}, { path }),
  /** The entry written into project.yaml (or, with `dry_run`, the diff it would make). */
  add: (body: IAddAction) => requestAPI<IAddedAction>('notebook-action', json(body)),
  /** Exactly these files committed, and the branch pushed. */
  commitPush: (paths: string[], message: string) =>
    requestAPI<ICommitPush>('git/commit-push', json({ paths, message })),
  run: (body: IParameterisedRequest) => requestAPI<IRequestWithWarnings>('api/job-requests', json(body))
};
