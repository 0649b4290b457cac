/**
 * The Jobs panel's Schedules section: the workspace's schedules and their last firings, read
 * through the server extension's proxy of the job server's API (`api/schedules...`); pause,
 * resume, run now and delete; and the "New schedule" form. Kept apart from the Jobs store:
 * it only reads what that store knows (the workspace, its actions and backends, who one is,
 * the job requests) and asks it to open a firing's job request or study run. The pure parts
 * are in schedules.ts.
 *
 * The event stream has no schedule events: a firing shows as a new job request of the
 * workspace, so one arriving reads the schedules again; a refused firing makes no request,
 * so while the section is open and shown they are also read every SCHEDULE_POLL_MS.
 */
import type { ISignal } from '@lumino/signaling';
import { Signal } from '@lumino/signaling';

import { errorMessage, requestAPI } from './api';
import { Errors, failure, withError } from './errorBook';
import { partState } from './runs';
import {
  createBody,
  formMissing,
  IScheduleForm,
  newForm,
  cronOf,
  presetOf,
  withSchedule
} from './schedules';
import type { ISchedule, IScheduleCreate, IScheduleFiring } from './schedules';
import type { IActions, IBackend, IJobRequest, IPage, IUser, JobRequestState } from './types';

/** Firings shown per schedule, newest first. */
export const FIRINGS_SHOWN = 3;
/** While the section is open and the panel shown: refused firings and next times change
 * with no event. */
export const SCHEDULE_POLL_MS = 30_000;
/** A burst of job request events (a firing at several sites): one read after it. */
export const SCHEDULE_READ_DELAY_MS = 500;

const post = (body?: unknown): RequestInit =>
  body === undefined
    ? { method: 'POST' }
    : { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } };
const at = (id: string, action = '') =>
  `api/schedules/${encodeURIComponent(id)}${action ? `/${action}` : ''}`;

export const scheduleApi = {
  list: (workspace: string) =>
    requestAPI<IPage<ISchedule>>('api/schedules', {}, { workspace, limit: 100 }),
  history: (id: string, limit = FIRINGS_SHOWN) =>
    requestAPI<IPage<IScheduleFiring>>(at(id, 'history'), {}, { limit }),
  create: (body: IScheduleCreate) => requestAPI<ISchedule>('api/schedules', post(body)),
  get: (id: string) => requestAPI<ISchedule>(at(id)),
  pause: (id: string) => requestAPI<ISchedule>(at(id, 'pause'), post()),
  resume: (id: string) => requestAPI<ISchedule>(at(id, 'resume'), post()),
  runNow: (id: string) => requestAPI<IScheduleFiring>(at(id, 'run-now'), post()),
  remove: (id: string) => requestAPI<null>(at(id), { method: 'DELETE' })
};

/** What the section reads of the Jobs store (which has all of it) and asks of it. */
export interface IScheduleHost {
  readonly name: string;
  readonly actions: IActions | null;
  readonly backends: IBackend[];
  readonly chosen: string[];
  readonly releasing: { readonly me: IUser | null };
  readonly jobs: { readonly requests: ReadonlyMap<string, IJobRequest> };
  readonly changed: ISignal<any, void>;
  openRequest(id: string): void;
  openRun(id: string): void;
}

export type ScheduleErrorKey = 'list' | 'create';
export type ScheduleAct = 'pause' | 'resume' | 'run-now' | 'delete';

export class ScheduleStore {
  /** The workspace's schedules (not the deleted), newest first. */
  schedules: ISchedule[] = [];
  /** Each schedule's last firings, newest first. */
  firings = new Map<string, IScheduleFiring[]>();
  loaded = false;
  errors: Errors<ScheduleErrorKey> = {};
  /** The job server's sentence refusing the last act on a schedule, by its id. */
  refusals = new Map<string, string>();
  /** The act under way on a schedule, by its id. */
  busy = new Map<string, ScheduleAct>();
  /** The "New schedule" form, while open. */
  form: IScheduleForm | null = null;
  creating = false;
  /** The schedule just made (the view moves focus to it once). */
  made: string | null = null;
  private open = false;
  private poll: ReturnType<typeof setInterval> | null = null;
  private pendingRead: ReturnType<typeof setTimeout> | null = null;
  private reading: Promise<void> | null = null;
  private readAgain = false;
  private requestsSeen = -1;
  private _changed = new Signal<this, void>(this);

  /** `visible`: whether the panel is shown (a hidden one is not polled). */
  constructor(
    private host: IScheduleHost,
    private visible: () => boolean = () => true
  ) {
    host.changed.connect(this.hostChanged, this);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Who one is ('' until known: the job server then decides every button). */
  get me(): string | null {
    return this.host.releasing.me?.username ?? null;
  }

  /** The actions of project.yaml, in its order. */
  get actionNames(): string[] {
    return (this.host.actions?.actions ?? []).map(a => a.name);
  }

  get backends(): IBackend[] {
    return this.host.backends;
  }

  /** The section opened (read now, then while shown) or folded (nothing read). */
  setOpen(open: boolean): void {
    if (open === this.open) {
      return;
    }
    this.open = open;
    if (this.poll !== null) {
      clearInterval(this.poll);
      this.poll = null;
    }
    if (open) {
      void this.load();
      this.poll = setInterval(() => {
        if (this.visible()) {
          void this.load();
        }
      }, SCHEDULE_POLL_MS);
    }
  }

  dispose(): void {
    this.setOpen(false);
    if (this.pendingRead !== null) {
      clearTimeout(this.pendingRead);
    }
    Signal.clearData(this);
  }

  /** The schedules and each one's last firings; a read asked for during one follows it. */
  async load(): Promise<void> {
    if (!this.host.name) {
      return;
    }
    if (this.reading) {
      this.readAgain = true;
      return this.reading;
    }
    this.reading = this.read();
    try {
      await this.reading;
    } finally {
      this.reading = null;
    }
    if (this.readAgain) {
      this.readAgain = false;
      await this.load();
    }
  }

  private async read(): Promise<void> {
    const workspace = this.host.name;
    await this.guard('list', async () => {
      const listed = (await scheduleApi.list(workspace)).items;
      const histories = await Promise.all(listed.map(s => this.history(s.id)));
      this.schedules = listed;
      this.firings = new Map(listed.map((s, i) => [s.id, histories[i]]));
      this.loaded = true;
    });
  }

  /** A schedule's last firings (those known, if they cannot be read now). */
  private async history(id: string): Promise<IScheduleFiring[]> {
    try {
      return (await scheduleApi.history(id)).items;
    } catch {
      return this.firings.get(id) ?? [];
    }
  }

  /** The state of a firing's job request as the panel follows it live (undefined: unknown). */
  requestState(id: string): JobRequestState | undefined {
    const request = this.host.jobs.requests.get(id);
    return request && partState(request);
  }

  /** A firing's job request, or study run, opened in the Job requests section. */
  openFiring(firing: IScheduleFiring): void {
    if (firing.run) {
      this.host.openRun(firing.run);
    } else if (firing.job_request) {
      this.host.openRequest(firing.job_request);
    }
  }

  pause(id: string): Promise<void> {
    return this.act(id, 'pause', async () => this.put(await scheduleApi.pause(id)));
  }

  resume(id: string): Promise<void> {
    return this.act(id, 'resume', async () => this.put(await scheduleApi.resume(id)));
  }

  /** Its submission made at once (its next firing stays as it was); the firing shown first. */
  runNow(id: string): Promise<void> {
    return this.act(id, 'run-now', async () => {
      const firing = await scheduleApi.runNow(id);
      const known = this.firings.get(id) ?? [];
      this.firings.set(id, [firing, ...known].slice(0, FIRINGS_SHOWN));
      this.put(await scheduleApi.get(id));
    });
  }

  /** It never fires again: it leaves the list (the view asked for confirmation). */
  remove(id: string): Promise<void> {
    return this.act(id, 'delete', async () => {
      await scheduleApi.remove(id);
      this.schedules = this.schedules.filter(s => s.id !== id);
      this.firings.delete(id);
    });
  }

  openForm(): void {
    this.form = newForm(this.host.chosen);
    this.errors = withError(this.errors, 'create', undefined);
    this._changed.emit();
  }

  closeForm(): void {
    this.form = null;
    this.errors = withError(this.errors, 'create', undefined);
    this._changed.emit();
  }

  /** A change to the form: a preset chosen fills the expression; one typed finds its preset. */
  editForm(change: Partial<IScheduleForm>): void {
    if (!this.form) {
      return;
    }
    const form = { ...this.form, ...change };
    if (change.preset !== undefined) {
      form.cron = cronOf(change.preset, form.cron);
    } else if (change.cron !== undefined) {
      form.preset = presetOf(change.cron);
    }
    this.form = form;
    this._changed.emit();
  }

  toggleFormAction(name: string, on: boolean): void {
    const actions = (this.form?.actions ?? []).filter(a => a !== name);
    this.editForm({ actions: on ? [...actions, name] : actions });
  }

  /** Backends kept in the order they are listed. */
  toggleFormBackend(slug: string, on: boolean): void {
    const chosen = new Set(this.form?.backends ?? []);
    on ? chosen.add(slug) : chosen.delete(slug);
    this.editForm({ backends: this.host.backends.map(b => b.slug).filter(s => chosen.has(s)) });
  }

  /** The form sent; the job server's refusal (bad cron, unknown zone...) shown as it says it. */
  async create(): Promise<ISchedule | null> {
    const form = this.form;
    if (!form || this.creating) {
      return null;
    }
    const missing = formMissing(form);
    if (missing) {
      this.errors = withError(this.errors, 'create', missing);
      this._changed.emit();
      return null;
    }
    this.creating = true;
    this.errors = withError(this.errors, 'create', undefined);
    this._changed.emit();
    try {
      const made = await scheduleApi.create(createBody(form, this.host.name, this.actionNames));
      this.schedules = withSchedule(this.schedules, made);
      this.firings.set(made.id, []);
      this.form = null;
      this.made = made.id;
      return made;
    } catch (error) {
      this.errors = withError(this.errors, 'create', errorMessage(error));
      return null;
    } finally {
      this.creating = false;
      this._changed.emit();
    }
  }

  private put(schedule: ISchedule): void {
    this.schedules = withSchedule(this.schedules, schedule);
  }

  private async act(id: string, act: ScheduleAct, work: () => Promise<void>): Promise<void> {
    this.busy.set(id, act);
    this.refusals.delete(id);
    this._changed.emit();
    const refused = await failure(work);
    this.busy.delete(id);
    if (refused !== undefined) {
      this.refusals.set(id, refused);
    }
    this._changed.emit();
  }

  /** The workspace became known, or job requests came (a firing makes one): read again. */
  private hostChanged(): void {
    const requests = this.host.jobs.requests.size;
    const more = this.requestsSeen >= 0 && requests > this.requestsSeen;
    this.requestsSeen = requests;
    if (!this.open || !this.host.name) {
      return;
    }
    if (!this.loaded && !this.reading && !this.errors.list) {
      void this.load();
    } else if (more) {
      this.readSoon();
    }
  }

  private readSoon(): void {
    if (this.pendingRead === null) {
      this.pendingRead = setTimeout(() => {
        this.pendingRead = null;
        void this.load();
      }, SCHEDULE_READ_DELAY_MS);
    }
  }

  private async guard(key: ScheduleErrorKey, work: () => Promise<void>): Promise<void> {
    this.errors = withError(this.errors, key, await failure(work));
    this._changed.emit();
  }
}
