import { Signal } from '@lumino/signaling';

import { requestAPI } from '../api';
import { IScheduleHost, SCHEDULE_POLL_MS, SCHEDULE_READ_DELAY_MS, ScheduleStore } from '../scheduleStore';
import type { ISchedule } from '../schedules';
import type { IJobRequest } from '../types';

// the server extension's proxy of the job server answered here, by path
jest.mock('../api', () => ({
  requestAPI: jest.fn(),
  errorMessage: (error: unknown) => (error instanceof Error ? error.message : String(error))
}));
const request = requestAPI as unknown as jest.Mock;

function schedule(changes: Partial<ISchedule> = {}): ISchedule {
  return {
    id: 's1',
    workspace: 'sample',
    project: 'sample-study',
    title: null,
    description: null,
    actions: ['make_table'],
    backends: ['tpp'],
    force_run_dependencies: false,
    notify: true,
    cron: '0 6 * * 1',
    timezone: 'Europe/London',
    when: 'Mondays at 06:00',
    catch_up: 'once',
    state: 'active',
    next_firings: [],
    next_said: 'Mon 14 Dec 06:00 Europe/London',
    last_fired_at: null,
    created_by: 'dev',
    created_at: '2026-12-07T12:00:00Z',
    updated_at: '2026-12-07T12:00:00Z',
    ...changes
  };
}

class Host implements IScheduleHost {
  name = 'sample';
  actions = {
    file: 'project.yaml',
    sha: null,
    actions: ['generate_dataset', 'make_table'].map(name => ({
      name,
      needs: [],
      run: 'r',
      line: 1,
      outputs: {},
      last_state: {}
    })),
    problems: [],
    warnings: [],
    jobserver_error: null
  };
  backends = [
    { slug: 'tpp', name: 'TPP', online: true, executor: null },
    { slug: 'emis', name: 'EMIS', online: true, executor: null }
  ];
  chosen = ['tpp'];
  releasing = { me: { username: 'dev', roles: [] } };
  jobs = { requests: new Map<string, IJobRequest>() };
  changed = new Signal<this, void>(this);
  openRequest = jest.fn();
  openRun = jest.fn();
}

/** Answers by method and path; a value that is an Error is thrown as the refusal. */
function answers(table: Record<string, unknown>): void {
  request.mockImplementation(async (path: string, init: RequestInit = {}) => {
    const key = `${init.method ?? 'GET'} ${path}`;
    if (!(key in table)) {
      throw new Error(`unexpected ${key}`);
    }
    const answer = table[key];
    if (answer instanceof Error) {
      throw answer;
    }
    return typeof answer === 'function' ? answer(init) : answer;
  });
}

/** Every answer so far handled (the mocks answer at once; fake timers hold no promise). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await Promise.resolve();
  }
}

const listed = (...items: ISchedule[]) => ({ items, next: null });
const calls = () => request.mock.calls.map(([path, init]) => `${init?.method ?? 'GET'} ${path}`);

beforeEach(() => {
  request.mockReset();
  jest.useRealTimers();
});

describe('the Schedules section', () => {
  it('reads nothing while folded; unfolded, the schedules and each one’s last firings', async () => {
    const fired = { id: 1, outcome: 'fired', job_request: 'r1' };
    answers({
      'GET api/schedules': listed(schedule()),
      'GET api/schedules/s1/history': { items: [fired], next: null }
    });
    const store = new ScheduleStore(new Host());
    expect(request).not.toHaveBeenCalled();
    store.setOpen(true);
    await store.load();
    expect(request.mock.calls[0][2]).toEqual({ workspace: 'sample', limit: 100 });
    expect(store.schedules.map(s => s.id)).toEqual(['s1']);
    expect(store.firings.get('s1')).toEqual([fired]);
    expect(store.loaded).toBe(true);
    store.dispose();
  });

  it('shows the job server’s refusal of an act at that schedule, changing nothing', async () => {
    const sentence =
      'only dev may run the schedule s1: it runs as them (a coordinator of the project may pause it)';
    answers({
      'GET api/schedules': listed(schedule()),
      'GET api/schedules/s1/history': listed(),
      'POST api/schedules/s1/run-now': new Error(sentence)
    });
    const store = new ScheduleStore(new Host());
    await store.load();
    await store.runNow('s1');
    expect(store.refusals.get('s1')).toBe(sentence);
    expect(store.busy.size).toBe(0);
    expect(store.firings.get('s1')).toEqual([]);
  });

  it('pauses, resumes and runs now, the firing first among the last ones', async () => {
    const firing = { id: 7, outcome: 'fired', trigger: 'run_now', job_request: 'r9' };
    answers({
      'GET api/schedules': listed(schedule()),
      'GET api/schedules/s1/history': listed(),
      'POST api/schedules/s1/pause': schedule({ state: 'paused' }),
      'POST api/schedules/s1/resume': schedule({ state: 'active' }),
      'POST api/schedules/s1/run-now': firing,
      'GET api/schedules/s1': schedule({ last_fired_at: '2026-12-07T12:01:00Z' })
    });
    const store = new ScheduleStore(new Host());
    await store.load();
    await store.pause('s1');
    expect(store.schedules[0].state).toBe('paused');
    await store.resume('s1');
    expect(store.schedules[0].state).toBe('active');
    await store.runNow('s1');
    expect(store.firings.get('s1')).toEqual([firing]);
    expect(store.schedules[0].last_fired_at).toBe('2026-12-07T12:01:00Z');
    store.openFiring(firing as any);
    expect((store as any).host.openRequest).toHaveBeenCalledWith('r9');
  });

  it('deletes one, which leaves the list', async () => {
    answers({
      'GET api/schedules': listed(schedule()),
      'GET api/schedules/s1/history': listed(),
      'DELETE api/schedules/s1': null
    });
    const store = new ScheduleStore(new Host());
    await store.load();
    await store.remove('s1');
    expect(store.schedules).toEqual([]);
    expect(store.refusals.size).toBe(0);
  });

  it('opens a firing’s study run when it made one', () => {
    const host = new Host();
    const store = new ScheduleStore(host);
    store.openFiring({ run: 'run1', job_request: null } as any);
    expect(host.openRun).toHaveBeenCalledWith('run1');
  });
});

describe('the New schedule form', () => {
  it('starts at the panel’s backends; a preset fills the expression, one typed finds its preset', () => {
    const store = new ScheduleStore(new Host());
    store.openForm();
    expect(store.form).toMatchObject({ backends: ['tpp'], preset: 'weekly', cron: '0 6 * * 1' });
    store.editForm({ preset: 'monthly' });
    expect(store.form!.cron).toBe('0 6 1 * *');
    store.editForm({ cron: '0 6 * * *' });
    expect(store.form!.preset).toBe('daily');
    store.editForm({ cron: '*/5 * * * *' });
    expect(store.form!.preset).toBe('custom');
    store.toggleFormBackend('emis', true);
    store.toggleFormBackend('tpp', false);
    store.toggleFormBackend('tpp', true);
    expect(store.form!.backends).toEqual(['tpp', 'emis']); // as the backends are listed
  });

  it('shows the job server’s sentence for a bad cron expression, and makes nothing', async () => {
    const sentence = "'every monday' is not a cron expression: give five fields";
    answers({ 'POST api/schedules': new Error(sentence) });
    const store = new ScheduleStore(new Host());
    store.openForm();
    store.toggleFormAction('make_table', true);
    store.editForm({ cron: 'every monday' });
    expect(await store.create()).toBeNull();
    expect(store.errors.create).toBe(sentence);
    expect(store.form).not.toBeNull(); // as it was, to be corrected
    expect(store.schedules).toEqual([]);
  });

  it('says what is missing without asking the job server', async () => {
    const store = new ScheduleStore(new Host());
    store.openForm();
    expect(await store.create()).toBeNull();
    expect(store.errors.create).toBe('Choose the actions to run.');
    expect(request).not.toHaveBeenCalled();
  });

  it('makes one: listed first, the form closed', async () => {
    const made = schedule({ id: 's2', title: 'weekly' });
    let sent: any = null;
    answers({
      'POST api/schedules': (init: RequestInit) => {
        sent = JSON.parse(String(init.body));
        return made;
      }
    });
    const store = new ScheduleStore(new Host());
    store.openForm();
    store.editForm({ title: 'weekly', timezone: 'Europe/London' });
    store.toggleFormAction('make_table', true);
    store.toggleFormAction('generate_dataset', true);
    expect(await store.create()).toEqual(made);
    expect(sent).toMatchObject({
      workspace: 'sample',
      title: 'weekly',
      actions: ['generate_dataset', 'make_table'],
      backends: ['tpp'],
      cron: '0 6 * * 1',
      timezone: 'Europe/London'
    });
    expect(store.schedules.map(s => s.id)).toEqual(['s2']);
    expect(store.form).toBeNull();
    expect(store.made).toBe('s2');
  });
});

describe('reading again', () => {
  it('follows a new job request of the workspace (a firing makes one), once per burst', async () => {
    jest.useFakeTimers();
    answers({ 'GET api/schedules': listed(), 'GET api/schedules/s1/history': listed() });
    const host = new Host();
    const store = new ScheduleStore(host);
    store.setOpen(true);
    await settle();
    host.changed.emit(); // the first sight of the requests
    request.mockClear();
    host.jobs.requests.set('r1', {} as IJobRequest);
    host.changed.emit();
    host.jobs.requests.set('r2', {} as IJobRequest);
    host.changed.emit();
    host.changed.emit(); // a log line: no new request
    jest.advanceTimersByTime(SCHEDULE_READ_DELAY_MS);
    expect(calls()).toEqual(['GET api/schedules']);
    store.dispose();
  });

  it('polls while unfolded and the panel is shown, never when folded', async () => {
    jest.useFakeTimers();
    answers({ 'GET api/schedules': listed() });
    let shown = false;
    const store = new ScheduleStore(new Host(), () => shown);
    store.setOpen(true);
    await settle();
    request.mockClear();
    jest.advanceTimersByTime(SCHEDULE_POLL_MS);
    expect(request).not.toHaveBeenCalled(); // the panel is hidden
    shown = true;
    jest.advanceTimersByTime(SCHEDULE_POLL_MS);
    await settle();
    expect(calls()).toEqual(['GET api/schedules']);
    store.setOpen(false);
    request.mockClear();
    jest.advanceTimersByTime(3 * SCHEDULE_POLL_MS);
    expect(request).not.toHaveBeenCalled();
  });
});
