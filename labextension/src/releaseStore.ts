/**
 * The panel's part in releases: a job's outputs chosen and checked, the request sent,
 * the workspace's requests under review and, for an output checker, the releases
 * waiting for their vote. Releases are followed live: a `release` event of the stream
 * has the release read again and put in place, and what concerns this user becomes a
 * notice (`notify`). It tells changes through `emit` (the Jobs store's signal); the pure
 * parts are in releasing.ts.
 */
import { api, errorMessage } from './api';
import { failure, withError } from './errorBook';
import {
  checkKey,
  emptyForm,
  followsRelease,
  formProblems,
  IReleaseEvent,
  IReleaseForm,
  IReleaseNotice,
  mayReview,
  placeRelease,
  releaseBody,
  releaseNotices,
  replaceRelease,
  toReview,
  waitingFiles
} from './releasing';
import type { Decision, IFileCheck, IJob, IRelease, IReleaseFile, IUser } from './types';

export interface IReleaseHost {
  /** The workspace's name ('' until known). */
  workspace(): string;
  emit(): void;
  /** Tell the user (JupyterLab's notifications). */
  notify(notice: IReleaseNotice): void;
  /** The workspace's released releases (the Jobs store's `Released outputs`). */
  released(): IRelease[];
  setReleased(releases: IRelease[]): void;
}

export type ReleaseErrorKey = 'me' | 'check' | 'request' | 'requests' | 'review';

export class ReleaseStore {
  me: IUser | null = null;
  /** Outputs chosen for a release, by job identifier. */
  chosen = new Map<string, ReadonlySet<string>>();
  /** What the rules found, by `checkKey(job, path)`. */
  checks = new Map<string, IFileCheck>();
  checking = false;
  form: IReleaseForm = emptyForm();
  sending = false;
  /** The release asked for from a job's outputs, by job identifier. */
  made = new Map<string, IRelease>();
  /** The workspace's release requests under review, newest first. */
  requests: IRelease[] = [];
  /** Releases waiting for this checker's vote, and those voted on here since. */
  queue: IRelease[] = [];
  /** A checker's comment being written, by file id. */
  drafts = new Map<string, string>();
  voting = new Set<string>();
  voteErrors = new Map<string, string>();
  errors: Partial<Record<ReleaseErrorKey, string>> = {};
  /** Lists read at least once (until then the panel says it is loading them). */
  loaded = { requests: false, queue: false };
  private votedHere = new Set<string>();
  /** The queue was read once: before that, a release is not known to be new to it. */
  private queueRead = false;
  /** Releases being read again, and those whose event came meanwhile (read once more). */
  private reading = new Set<string>();
  private readAgain = new Set<string>();

  constructor(private host: IReleaseHost) {}

  get canReview(): boolean {
    return mayReview(this.me);
  }

  chosenPaths(job: string): string[] {
    return [...(this.chosen.get(job) ?? [])].sort();
  }

  choose(job: string, path: string, on: boolean): void {
    const paths = new Set(this.chosen.get(job));
    on ? paths.add(path) : paths.delete(path);
    this.chosen = new Map(this.chosen).set(job, paths);
    this.host.emit();
  }

  setForm(field: keyof IReleaseForm, value: string): void {
    this.form = { ...this.form, [field]: value };
    this.host.emit();
  }

  /** Why the request for this job's chosen outputs cannot be sent yet. */
  problems(job: string): string[] {
    const paths = this.chosenPaths(job);
    return formProblems(this.form, paths, paths.map(p => this.checks.get(checkKey(job, p))));
  }

  async loadMe(): Promise<void> {
    await this.guard('me', async () => {
      this.me = await api.me();
    });
  }

  /** The workspace's requests and, for a checker, the queue (read again on refresh). */
  async load(): Promise<void> {
    await Promise.all([this.loadRequests(), this.loadQueue()]);
  }

  async loadRequests(): Promise<void> {
    const workspace = this.host.workspace();
    if (!workspace) {
      return;
    }
    await this.guard('requests', async () => {
      this.requests = (await api.requested(workspace)).items;
      this.loaded = { ...this.loaded, requests: true };
      for (const [job, release] of this.made) {
        const now = this.requests.find(r => r.id === release.id);
        if (now) {
          this.made.set(job, now);
        }
      }
    });
  }

  async loadQueue(): Promise<void> {
    if (!this.me) {
      await this.loadMe(); // who one is decides whether there is anything to review
    }
    if (!this.me || !this.canReview) {
      return;
    }
    const me = this.me.username;
    await this.guard('review', async () => {
      const open = (await api.requested()).items;
      const waiting = new Set(toReview(open, me).map(r => r.id));
      // a release voted on here stays in sight with its result until it is no longer open
      this.queue = open
        .filter(r => waiting.has(r.id) || this.votedHere.has(r.id))
        .sort((a, b) => (a.id < b.id ? -1 : 1));
      this.queueRead = true;
      this.loaded = { ...this.loaded, queue: true };
    });
  }

  /** Nothing (more) to read: no workspace, or no queue for one who does not review. */
  markLoaded(...lists: ('requests' | 'queue')[]): void {
    this.loaded = { ...this.loaded, ...Object.fromEntries(lists.map(l => [l, true])) };
    this.host.emit();
  }

  /**
   * A release changed (an event of the stream): read it again if it concerns this panel,
   * put it in place and tell what concerns this user. Events of one release that come
   * while it is read make one more read, not one each.
   */
  async follow(event: IReleaseEvent): Promise<void> {
    if (!followsRelease(event, this.host.workspace(), this.canReview, this.queue)) {
      return;
    }
    const id = event.id;
    if (this.reading.has(id)) {
      this.readAgain.add(id);
      return;
    }
    this.reading.add(id);
    try {
      do {
        this.readAgain.delete(id);
        await this.reread(id);
      } while (this.readAgain.has(id));
    } finally {
      this.reading.delete(id);
    }
  }

  /** The copy of a release this panel holds, if any (what a change is compared with). */
  held(id: string): IRelease | undefined {
    const lists = [this.requests, this.queue, [...this.made.values()], this.host.released()];
    for (const list of lists) {
      const found = list.find(r => r.id === id);
      if (found) {
        return found;
      }
    }
    return undefined;
  }

  /** A release as read now, put where it belongs (and taken from where it no longer does). */
  place(release: IRelease): void {
    const before = this.held(release.id);
    if (this.me) {
      for (const notice of releaseNotices(before, release, this.me)) {
        if (notice.kind !== 'to_review' || this.queueRead) {
          this.host.notify(notice);
        }
      }
    }
    if (release.workspace === this.host.workspace()) {
      // as the lists are read: requests still asked for, and the released ones
      this.requests = placeRelease(this.requests, release, release.state === 'requested', 'newest');
      const released = this.host.released();
      const now = placeRelease(released, release, release.state === 'released', 'newest');
      if (now !== released) {
        this.host.setReleased(now);
      }
    }
    if ([...this.made.values()].some(r => r.id === release.id)) {
      this.made = new Map([...this.made].map(([job, r]) => [job, r.id === release.id ? release : r]));
    }
    if (this.canReview) {
      const open = release.state === 'requested';
      const mine = waitingFiles(release, this.me!.username).length > 0;
      const belongs = open && (mine || this.votedHere.has(release.id));
      this.queue = placeRelease(this.queue, release, belongs, 'oldest');
    }
    this.host.emit();
  }

  /** The checker's stream of releases is down (a sentence) or up again (undefined). */
  streamError(message: string | undefined): void {
    const paused = 'Live updates of the queue paused: ';
    const text = message && paused + message;
    if (this.errors.review === text || (!text && !this.errors.review?.startsWith(paused))) {
      return; // unchanged, or another error (of reading the queue) that this does not clear
    }
    const errors = { ...this.errors };
    if (text) {
      errors.review = text;
    } else {
      delete errors.review;
    }
    this.errors = errors;
    this.host.emit();
  }

  /** Take a release this user may no longer read out of every list. */
  private forget(id: string): void {
    const gone = (list: IRelease[]) => list.filter(r => r.id !== id);
    this.requests = gone(this.requests);
    this.queue = gone(this.queue);
    const released = this.host.released();
    if (released.some(r => r.id === id)) {
      this.host.setReleased(gone(released));
    }
  }

  private async reread(id: string): Promise<void> {
    let release: IRelease;
    try {
      release = await api.release(id);
    } catch (error) {
      const status = (error as any)?.response?.status;
      if (status === 403 || status === 404) {
        this.forget(id); // not (or no longer) to be seen by this user
      } else {
        this.errors = { ...this.errors, requests: errorMessage(error) };
      }
      this.host.emit();
      return;
    }
    if (this.errors.requests) {
      const errors = { ...this.errors };
      delete errors.requests;
      this.errors = errors;
    }
    this.place(release);
  }

  /** The chosen outputs judged by the job's backend's rules, as a request will judge them. */
  async check(job: IJob): Promise<void> {
    const paths = this.chosenPaths(job.identifier);
    if (!paths.length || this.checking) {
      return;
    }
    this.checking = true;
    this.host.emit();
    await this.guard('check', async () => {
      const found = await api.check({ job: job.identifier, paths });
      const checks = new Map(this.checks);
      found.forEach((check, i) => checks.set(checkKey(job.identifier, paths[i]), check));
      this.checks = checks;
    });
    this.checking = false;
    this.host.emit();
  }

  /** Ask for the chosen outputs of `job` to be released, as one group. */
  async request(job: IJob): Promise<IRelease | null> {
    const paths = this.chosenPaths(job.identifier);
    if (this.sending || this.problems(job.identifier).length) {
      return null;
    }
    this.sending = true;
    this.host.emit();
    let release: IRelease | null = null;
    await this.guard('request', async () => {
      const body = releaseBody(this.host.workspace(), job.backend, job.identifier, paths, this.form);
      release = await api.requestRelease(body);
      this.made = new Map(this.made).set(job.identifier, release);
      this.requests = [release, ...this.requests.filter(r => r.id !== release!.id)];
      this.form = emptyForm();
      this.chosen = new Map(this.chosen).set(job.identifier, new Set());
    });
    this.sending = false;
    this.host.emit();
    return release;
  }

  /** Ask again from the same job (the last request stays under review). */
  another(job: string): void {
    const made = new Map(this.made);
    made.delete(job);
    this.made = made;
    this.host.emit();
  }

  setDraft(file: string, text: string): void {
    this.drafts = new Map(this.drafts).set(file, text);
    this.host.emit();
  }

  /** One vote on one file; the answer (the whole release) replaces it where it is shown. */
  async vote(release: IRelease, file: IReleaseFile, decision: Decision): Promise<void> {
    if (this.voting.has(file.id)) {
      return;
    }
    this.voting = new Set(this.voting).add(file.id);
    this.voteErrors.delete(file.id);
    this.host.emit();
    try {
      const updated = await api.vote(release.id, file.id, decision, this.drafts.get(file.id) ?? '');
      this.votedHere.add(release.id);
      this.queue = replaceRelease(this.queue, updated);
      this.requests = replaceRelease(this.requests, updated);
      const drafts = new Map(this.drafts);
      drafts.delete(file.id);
      this.drafts = drafts;
    } catch (error) {
      this.voteErrors = new Map(this.voteErrors).set(file.id, errorMessage(error));
    } finally {
      const voting = new Set(this.voting);
      voting.delete(file.id);
      this.voting = voting;
      this.host.emit();
    }
  }

  /** Run a load; its failure is shown where it belongs, its success clears that. */
  private async guard(key: ReleaseErrorKey, work: () => Promise<void>): Promise<void> {
    this.errors = withError(this.errors, key, await failure(work));
    this.host.emit();
  }
}
