/**
 * Schedules (a workspace's actions submitted by the job server on a cron expression), free
 * of JupyterLab: their wire format as in jupyter_ext/schema/schedules.py, the cron presets of
 * the "New schedule" form, what the panel says of a schedule and its firings, which buttons
 * it offers, and the body the form sends. The job server checks everything again and says
 * what is wrong in a sentence; nothing here second-guesses it.
 */

export type ScheduleState = 'active' | 'paused' | 'deleted';
export type CatchUp = 'once' | 'skip';
export type FiringOutcome = 'fired' | 'skipped' | 'nothing_to_do' | 'failed';

export interface IScheduleCreate {
  workspace: string;
  title: string | null;
  actions: string[];
  backends: string[];
  force_run_dependencies: boolean;
  notify: boolean;
  cron: string;
  timezone: string;
  catch_up: CatchUp;
}

export interface ISchedule {
  id: string;
  workspace: string;
  project: string;
  title: string | null;
  description: string | null;
  actions: string[];
  backends: string[];
  force_run_dependencies: boolean;
  notify: boolean;
  cron: string;
  timezone: string;
  /** The cron expression in words ("Mondays at 06:00"), where it is simple. */
  when: string;
  catch_up: CatchUp;
  state: ScheduleState;
  /** The next three (UTC), while active. */
  next_firings: string[];
  /** The next firing in its own zone: "Mon 14 Dec 06:00 Europe/London". */
  next_said: string | null;
  last_fired_at: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface IScheduleFiring {
  id: number;
  schedule: string;
  trigger: 'schedule' | 'run_now';
  outcome: FiringOutcome;
  due_at: string | null;
  fired_at: string;
  missed: number;
  job_request: string | null;
  /** The study run, when the schedule names several backends. */
  run: string | null;
  message: string;
  /** `scheduler`, or who ran it now. */
  actor: string;
}

/** What the form offers besides typing a cron expression. */
export const PRESETS: { id: string; label: string; cron: string }[] = [
  { id: 'daily', label: 'Daily at 06:00', cron: '0 6 * * *' },
  { id: 'weekly', label: 'Weekly on Monday at 06:00', cron: '0 6 * * 1' },
  { id: 'monthly', label: 'Monthly on the 1st at 06:00', cron: '0 6 1 * *' }
];
export const CUSTOM = 'custom';

/** The preset a cron expression is (spaces as typed do not matter), else `custom`. */
export function presetOf(cron: string): string {
  const fields = cron.trim().split(/\s+/).join(' ');
  return PRESETS.find(p => p.cron === fields)?.id ?? CUSTOM;
}

/** A preset's cron expression; `custom` keeps what was typed. */
export function cronOf(preset: string, typed: string): string {
  return PRESETS.find(p => p.id === preset)?.cron ?? typed;
}

/** The browser's IANA zone (what the analyst's clock says), UTC when it cannot say. */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** The zones this browser knows, for the form's suggestions (none where it cannot list them). */
export function knownTimeZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] };
  try {
    return intl.supportedValuesOf?.('timeZone') ?? [];
  } catch {
    return [];
  }
}

/** The action the job server reads as every action not yet succeeded. */
export const RUN_ALL = 'run_all';

export interface IScheduleForm {
  title: string;
  actions: string[];
  backends: string[];
  preset: string;
  cron: string;
  timezone: string;
  catchUp: CatchUp;
  notify: boolean;
  forceRunDependencies: boolean;
}

/** A fresh form: weekly, in the browser's zone, at the backends the panel has chosen. */
export function newForm(backends: string[], timezone = browserTimeZone()): IScheduleForm {
  const weekly = PRESETS[1];
  return {
    title: '',
    actions: [],
    backends: [...backends],
    preset: weekly.id,
    cron: weekly.cron,
    timezone,
    catchUp: 'once',
    notify: true,
    forceRunDependencies: false
  };
}

/** The form as `POST api/schedules` takes it; actions in the order the file lists them. */
export function createBody(form: IScheduleForm, workspace: string, order: string[]): IScheduleCreate {
  const actions = form.actions.includes(RUN_ALL)
    ? [RUN_ALL]
    : order.filter(name => form.actions.includes(name));
  return {
    workspace,
    title: form.title.trim() || null,
    actions,
    backends: form.backends,
    force_run_dependencies: form.forceRunDependencies,
    notify: form.notify,
    cron: form.cron.trim(),
    timezone: form.timezone.trim(),
    catch_up: form.catchUp
  };
}

/** Why the form cannot be sent yet ('' when it can): what the job server would need. */
export function formMissing(form: IScheduleForm): string {
  if (!form.actions.length) {
    return 'Choose the actions to run.';
  }
  if (!form.backends.length) {
    return 'Choose a backend.';
  }
  if (!form.cron.trim()) {
    return 'Give a cron expression, or choose when above.';
  }
  if (!form.timezone.trim()) {
    return 'Give a time zone, e.g. Europe/London.';
  }
  return '';
}

/** Its title, else what it runs. */
export function scheduleName(schedule: ISchedule): string {
  return schedule.title || schedule.actions.join(', ');
}

/** "Mondays at 06:00, Europe/London", "Every day at 06:00, UTC" (the expression itself
 * where it has no words). */
export function whenSaid(schedule: ISchedule): string {
  const words = schedule.when && schedule.when !== schedule.cron ? schedule.when : `cron ${schedule.cron}`;
  return `${words.charAt(0).toUpperCase()}${words.slice(1)}, ${schedule.timezone}`;
}

/** When it fires next, or why it does not. */
export function nextSaid(schedule: ISchedule): string {
  if (schedule.state === 'paused') {
    return 'Paused: it fires again once resumed.';
  }
  if (schedule.state === 'deleted') {
    return 'Deleted: it never fires again.';
  }
  return schedule.next_said ? `Next: ${schedule.next_said}` : 'Next: not known';
}

/** "run now by dev", "on schedule, 3 missed while the job server was down". */
export function firingSaid(firing: IScheduleFiring): string {
  const how = firing.trigger === 'run_now' ? `run now by ${firing.actor}` : 'on schedule';
  const missed =
    firing.missed > 0
      ? `, ${firing.missed} missed while the job server was down`
      : '';
  return how + missed;
}

/** A button of a schedule: offered or not, and if offered but not for this user, why. */
export interface IScheduleButton {
  shown: boolean;
  enabled: boolean;
}

export interface IScheduleButtons {
  pause: IScheduleButton;
  resume: IScheduleButton;
  runNow: IScheduleButton;
  delete: IScheduleButton;
  /** Why some are not for this user ('' when all shown are). */
  note: string;
}

/**
 * What may be done to a schedule by `me`, as the job server's rules say: its owner pauses,
 * resumes, runs it now and deletes it; a project's coordinator may pause or resume anyone's
 * (the panel cannot know one's project roles: the job server says no in a sentence if not).
 * A deleted schedule offers nothing. `busy`: an action on it is under way.
 */
export function scheduleButtons(schedule: ISchedule, me: string | null, busy = false): IScheduleButtons {
  const live = schedule.state !== 'deleted';
  const owner = me === null || me === schedule.created_by; // unknown: let the job server say
  return {
    pause: { shown: schedule.state === 'active', enabled: !busy },
    resume: { shown: schedule.state === 'paused', enabled: !busy },
    runNow: { shown: live, enabled: owner && !busy },
    delete: { shown: live, enabled: owner && !busy },
    note:
      live && !owner
        ? `Only ${schedule.created_by} may run it now or delete it: it runs as them.`
        : ''
  };
}

/** Schedules in the order the job server lists them (newest first), one replaced or added. */
export function withSchedule(list: ISchedule[], schedule: ISchedule): ISchedule[] {
  const at = list.findIndex(s => s.id === schedule.id);
  if (schedule.state === 'deleted') {
    return list.filter(s => s.id !== schedule.id);
  }
  if (at < 0) {
    return [schedule, ...list];
  }
  return list.map(s => (s.id === schedule.id ? schedule : s));
}
