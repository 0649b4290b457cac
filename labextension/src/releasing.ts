/**
 * Asking for a release and reviewing one, free of JupyterLab: which outputs may be
 * asked for, what the pre-release rules found, whether the form can be sent, and
 * which files wait for a checker's vote. Unit-tested with jest (src/__tests__).
 */
import type {
  Decision,
  IFileCheck,
  IFinding,
  IOutput,
  IRelease,
  IReleaseCreate,
  IReleaseFile,
  IReview,
  IUser
} from './types';

/** The only role that may vote (project roles never grant it). */
export const CHECKER_ROLE = 'output_checker';

export function mayReview(user: IUser | null): boolean {
  return !!user && user.roles.includes(CHECKER_ROLE);
}

/** Only moderately sensitive outputs may leave a backend; the rest stay on the site. */
export function releasable(outputs: IOutput[]): IOutput[] {
  return outputs.filter(o => o.privacy_level === 'moderately_sensitive');
}

// -- what the rules found ------------------------------------------------------

const RULES: Record<string, string> = {
  type: 'file type',
  size: 'size',
  rows: 'rows',
  forbidden_column: 'column',
  small_number: 'small numbers',
  unreadable: 'unreadable'
};

export interface ICheckSummary {
  refusals: number;
  flags: number;
  /** In words, so the verdict never rests on colour alone. */
  text: string;
}

export function checkSummary(findings: IFinding[]): ICheckSummary {
  const refusals = findings.filter(f => f.verdict === 'refuse').length;
  const flags = findings.length - refusals;
  let text = 'Passes the rules';
  if (refusals) {
    text = `Refused: ${plural(refusals, 'rule')} not met`;
  } else if (flags) {
    text = `Flagged: ${plural(flags, 'finding')} for the checkers`;
  }
  return { refusals, flags, text };
}

/** `Refused (small numbers): ...` or `Flagged (...): ...`. */
export function findingLabel(finding: IFinding): string {
  const verdict = finding.verdict === 'refuse' ? 'Refused' : 'Flagged';
  return `${verdict} (${RULES[finding.rule] ?? finding.rule}): ${finding.message}`;
}

/** `5 rows · region, population`: what a table holds, never its values. */
export function tableShape(file: Pick<IFileCheck, 'rows' | 'columns'>): string {
  if (file.rows === null || file.rows === undefined) {
    return '';
  }
  const columns = file.columns?.length ? ` · ${file.columns.join(', ')}` : '';
  return `${plural(file.rows, 'row')}${columns}`;
}

export function checkKey(job: string, path: string): string {
  return `${job}\u0000${path}`;
}

// -- the request ---------------------------------------------------------------

export interface IReleaseForm {
  group: string;
  context: string;
  disclosure: string;
}

export function emptyForm(): IReleaseForm {
  return { group: '', context: '', disclosure: '' };
}

const TABLE = /\.(csv|tsv)$/i;

/**
 * A table, or a file the rules flagged, needs a statement of disclosure control (the job
 * server refuses it without one); a group of figures only may leave it empty.
 */
export function needsStatement(paths: string[], checks: (IFileCheck | undefined)[]): boolean {
  return (
    paths.some(p => TABLE.test(p)) || checks.some(c => !!c && checkSummary(c.findings).flags > 0)
  );
}

/** Why the request cannot be sent yet (nothing: it can). */
export function formProblems(
  form: IReleaseForm,
  paths: string[],
  checks: (IFileCheck | undefined)[]
): string[] {
  const problems: string[] = [];
  if (!paths.length) {
    problems.push('Choose the outputs to release.');
  }
  if (!form.group.trim()) {
    problems.push('Name the group of files.');
  }
  if (!form.context.trim()) {
    problems.push('Say what the files show (context).');
  }
  if (!form.disclosure.trim() && needsStatement(paths, checks)) {
    problems.push('Say how small numbers were handled (disclosure control).');
  }
  for (const check of checks) {
    if (check && checkSummary(check.findings).refusals) {
      problems.push(`${check.path} is refused by the rules: fix it and run its action again.`);
    }
  }
  return problems;
}

export function releaseBody(
  workspace: string,
  backend: string,
  job: string,
  paths: string[],
  form: IReleaseForm
): IReleaseCreate {
  return {
    workspace,
    backend,
    groups: {
      [form.group.trim()]: {
        context: form.context.trim(),
        disclosure_control: form.disclosure.trim(),
        files: paths.map(path => ({ job, path }))
      }
    }
  };
}

// -- the review ----------------------------------------------------------------

const OPEN = new Set(['requested', 'in_review']);
const GONE = new Set(['superseded', 'withdrawn']);

/** The files asked for now: each file's latest version, unless withdrawn or deleted. */
export function currentFiles(release: IRelease): IReleaseFile[] {
  return release.files.filter(f => !GONE.has(f.state) && !f.deleted);
}

/**
 * The files `username` may still vote on: open, not voted on by them, in a release
 * they did not ask for. Others' votes stay hidden until all are in, so a file whose
 * shown reviews do not name the caller is one they have not voted on.
 */
export function waitingFiles(release: IRelease, username: string): IReleaseFile[] {
  if (release.created_by === username) {
    return [];
  }
  return release.files.filter(f => OPEN.has(f.state) && !myReview(f, username));
}

/** Releases with a file waiting for this checker's vote, oldest first (first come, first seen). */
export function toReview(releases: IRelease[], username: string): IRelease[] {
  return releases
    .filter(r => waitingFiles(r, username).length > 0)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function myReview(file: IReleaseFile, username: string): IReview | undefined {
  return file.reviews?.find(r => r.reviewer === username);
}

/** The list with `updated` in the place of the release of the same id. */
export function replaceRelease(releases: IRelease[], updated: IRelease): IRelease[] {
  return releases.map(r => (r.id === updated.id ? updated : r));
}

// -- following releases live ----------------------------------------------------

/** What the event stream says of a release (kind `release`): never its files or votes. */
export interface IReleaseEvent {
  id: string;
  workspace: string;
  state: string;
}

/**
 * Whether a release event concerns this panel, so that the release is read again: one of
 * its workspace, one held in the checker's queue, or (for a checker) a release still asked
 * for, which may wait for their vote.
 */
export function followsRelease(
  event: IReleaseEvent,
  workspace: string,
  checker: boolean,
  queue: IRelease[]
): boolean {
  if (!event || typeof event.id !== 'string') {
    return false;
  }
  if (event.workspace === workspace) {
    return true;
  }
  return checker && (event.state === 'requested' || queue.some(r => r.id === event.id));
}

/**
 * `list` with `release` in the place of the one of its id (a new one added where the list's
 * order puts it: ids are ULIDs, so newest first is descending), or without it when it no
 * longer belongs there.
 */
export function placeRelease(
  list: IRelease[],
  release: IRelease,
  belongs: boolean,
  order: 'newest' | 'oldest'
): IRelease[] {
  if (!belongs) {
    return list.some(r => r.id === release.id) ? list.filter(r => r.id !== release.id) : list;
  }
  if (list.some(r => r.id === release.id)) {
    return replaceRelease(list, release);
  }
  const sign = order === 'newest' ? 1 : -1; // newest first: an older (smaller) id goes after
  return [...list, release].sort((a, b) => (a.id < b.id ? sign : a.id > b.id ? -sign : 0));
}

/** `“tables” (1A2B3C4D)`: a release named by its groups and the end of its id, as cards show it. */
export function releaseName(release: IRelease): string {
  const short = release.id.slice(-8);
  const groups = Object.keys(release.groups ?? {});
  return groups.length ? `“${groups.join(', ')}” (${short})` : short;
}

export type NoticeKind = 'released' | 'withdrawn' | 'changes_requested' | 'to_review';

/** One JupyterLab notification about a release. */
export interface IReleaseNotice {
  kind: NoticeKind;
  release: string;
  level: 'success' | 'warning' | 'info';
  message: string;
}

/**
 * What to tell `user` of a release read again (`after`) against the copy held before
 * (`before`; undefined when none was held). The author hears when it is released or
 * withdrawn and when files of it get `changes_requested`, only if a copy was held to
 * compare with; an output checker hears when it comes to wait for their vote (a new
 * release, or a new version of a file they voted on). A vote that changes none of
 * these says nothing.
 */
export function releaseNotices(
  before: IRelease | undefined,
  after: IRelease,
  user: IUser
): IReleaseNotice[] {
  const me = user.username;
  const name = releaseName(after);
  const notices: IReleaseNotice[] = [];
  const notice = (kind: NoticeKind, level: IReleaseNotice['level'], message: string) =>
    notices.push({ kind, release: after.id, level, message });
  if (after.created_by === me && before) {
    if (after.state !== before.state && after.state === 'released') {
      notice('released', 'success', `Your release ${name} was released`);
    } else if (after.state !== before.state && after.state === 'withdrawn') {
      notice('withdrawn', 'info', `Your release ${name} was withdrawn`);
    }
    const was = new Map(before.files.map(f => [f.id, f.state]));
    const asked = after.files
      .filter(f => f.state === 'changes_requested' && was.get(f.id) !== 'changes_requested')
      .map(f => f.path);
    if (asked.length) {
      const files = asked.join(', ');
      notice('changes_requested', 'warning', `Changes requested to ${files} in your release ${name}`);
    }
  }
  const waiting = (r: IRelease | undefined) =>
    !!r && r.state === 'requested' && waitingFiles(r, me).length > 0;
  if (mayReview(user) && waiting(after) && !waiting(before)) {
    const files = plural(waitingFiles(after, me).length, 'file');
    const whose = `of ${after.workspace} by ${after.created_by}`;
    notice('to_review', 'info', `Release ${name} ${whose} waits for your review (${files})`);
  }
  return notices;
}

export const DECISIONS: { decision: Decision; label: string }[] = [
  { decision: 'approve', label: 'Approve' },
  { decision: 'request_changes', label: 'Request changes' },
  { decision: 'reject', label: 'Reject' }
];

export function decisionLabel(decision: string): string {
  return DECISIONS.find(d => d.decision === decision)?.label ?? decision;
}

function plural(count: number, word: string): string {
  return `${count.toLocaleString('en')} ${word}${count === 1 ? '' : 's'}`;
}
