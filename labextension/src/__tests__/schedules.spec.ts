import {
  createBody,
  CUSTOM,
  cronOf,
  firingSaid,
  formMissing,
  ISchedule,
  IScheduleFiring,
  newForm,
  nextSaid,
  PRESETS,
  presetOf,
  RUN_ALL,
  scheduleButtons,
  scheduleName,
  whenSaid,
  withSchedule
} from '../schedules';

function schedule(changes: Partial<ISchedule> = {}): ISchedule {
  return {
    id: 's1',
    workspace: 'sample',
    project: 'sample-study',
    title: null,
    description: null,
    actions: ['generate_dataset', 'make_table'],
    backends: ['tpp'],
    force_run_dependencies: false,
    notify: true,
    cron: '0 6 * * 1',
    timezone: 'Europe/London',
    when: 'Mondays at 06:00',
    catch_up: 'once',
    state: 'active',
    next_firings: ['2026-12-14T06:00:00Z'],
    next_said: 'Mon 14 Dec 06:00 Europe/London',
    last_fired_at: null,
    created_by: 'dev',
    created_at: '2026-12-07T12:00:00Z',
    updated_at: '2026-12-07T12:00:00Z',
    ...changes
  };
}

function firing(changes: Partial<IScheduleFiring> = {}): IScheduleFiring {
  return {
    id: 1,
    schedule: 's1',
    trigger: 'schedule',
    outcome: 'fired',
    due_at: '2026-12-14T06:00:00Z',
    fired_at: '2026-12-14T06:00:01Z',
    missed: 0,
    job_request: 'r1',
    run: null,
    message: 'made job request r1',
    actor: 'scheduler',
    ...changes
  };
}

describe('presets', () => {
  it('are daily, weekly on Monday and monthly on the 1st, at 06:00', () => {
    expect(PRESETS.map(p => p.cron)).toEqual(['0 6 * * *', '0 6 * * 1', '0 6 1 * *']);
  });

  it('are found from an expression however it is spaced, else custom', () => {
    expect(presetOf(' 0  6 * *   1 ')).toBe('weekly');
    expect(presetOf('0 6 1 * *')).toBe('monthly');
    expect(presetOf('30 7 * * 1-5')).toBe(CUSTOM);
    expect(presetOf('')).toBe(CUSTOM);
  });

  it('fill the expression; custom keeps what was typed', () => {
    expect(cronOf('daily', '30 7 * * *')).toBe('0 6 * * *');
    expect(cronOf(CUSTOM, '30 7 * * *')).toBe('30 7 * * *');
  });
});

describe('the form', () => {
  it('starts weekly, in the zone given, at the backends the panel chose', () => {
    const form = newForm(['tpp'], 'Europe/Paris');
    expect(form).toMatchObject({ preset: 'weekly', cron: '0 6 * * 1', timezone: 'Europe/Paris' });
    expect(form).toMatchObject({ backends: ['tpp'], catchUp: 'once', notify: true, actions: [] });
  });

  it('defaults to the browser’s zone', () => {
    expect(newForm([]).timezone).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
  });

  it('sends the actions in the file’s order, a blank title as none, run_all alone', () => {
    const form = { ...newForm(['tpp'], 'UTC'), actions: ['make_table', 'generate_dataset'] };
    const order = ['generate_dataset', 'derive', 'make_table'];
    const body = createBody({ ...form, title: '  ', cron: ' 0 6 * * 1 ' }, 'sample', order);
    expect(body).toEqual({
      workspace: 'sample',
      title: null,
      actions: ['generate_dataset', 'make_table'],
      backends: ['tpp'],
      force_run_dependencies: false,
      notify: true,
      cron: '0 6 * * 1',
      timezone: 'UTC',
      catch_up: 'once'
    });
    const all = createBody({ ...form, actions: ['make_table', RUN_ALL] }, 'sample', order);
    expect(all.actions).toEqual([RUN_ALL]);
  });

  it('says what is missing before anything is sent', () => {
    const form = newForm(['tpp'], 'UTC');
    expect(formMissing(form)).toBe('Choose the actions to run.');
    const chosen = { ...form, actions: ['make_table'] };
    expect(formMissing({ ...chosen, backends: [] })).toBe('Choose a backend.');
    expect(formMissing({ ...chosen, cron: ' ' })).toMatch(/cron expression/);
    expect(formMissing({ ...chosen, timezone: '' })).toMatch(/time zone/);
    expect(formMissing(chosen)).toBe('');
  });
});

describe('what a schedule says', () => {
  it('is named by its title, else its actions', () => {
    expect(scheduleName(schedule())).toBe('generate_dataset, make_table');
    expect(scheduleName(schedule({ title: 'weekly tables' }))).toBe('weekly tables');
  });

  it('says when in words and its zone, or its expression when it has no words', () => {
    expect(whenSaid(schedule())).toBe('Mondays at 06:00, Europe/London');
    expect(whenSaid(schedule({ when: 'every day at 06:00', timezone: 'UTC' }))).toBe(
      'Every day at 06:00, UTC'
    );
    expect(whenSaid(schedule({ when: '5 4 * * sun', cron: '5 4 * * sun' }))).toBe(
      'Cron 5 4 * * sun, Europe/London'
    );
  });

  it('says its next firing, or why there is none', () => {
    expect(nextSaid(schedule())).toBe('Next: Mon 14 Dec 06:00 Europe/London');
    expect(nextSaid(schedule({ state: 'paused', next_said: null }))).toMatch(/^Paused/);
    expect(nextSaid(schedule({ state: 'deleted' }))).toMatch(/never fires again/);
  });

  it('says how each firing came and what it missed', () => {
    expect(firingSaid(firing())).toBe('on schedule');
    expect(firingSaid(firing({ trigger: 'run_now', actor: 'dev' }))).toBe('run now by dev');
    expect(firingSaid(firing({ missed: 3 }))).toBe(
      'on schedule, 3 missed while the job server was down'
    );
  });
});

describe('buttons', () => {
  it('offer pause while active and resume while paused, to its owner all of them', () => {
    const active = scheduleButtons(schedule(), 'dev');
    expect(active.pause).toEqual({ shown: true, enabled: true });
    expect(active.resume.shown).toBe(false);
    expect(active.runNow).toEqual({ shown: true, enabled: true });
    expect(active.delete).toEqual({ shown: true, enabled: true });
    expect(active.note).toBe('');
    const paused = scheduleButtons(schedule({ state: 'paused' }), 'dev');
    expect(paused.pause.shown).toBe(false);
    expect(paused.resume).toEqual({ shown: true, enabled: true });
  });

  it('let others pause (a coordinator may) but not run it now or delete it, and say why', () => {
    const other = scheduleButtons(schedule(), 'coord');
    expect(other.pause.enabled).toBe(true);
    expect(other.runNow).toEqual({ shown: true, enabled: false });
    expect(other.delete).toEqual({ shown: true, enabled: false });
    expect(other.note).toBe('Only dev may run it now or delete it: it runs as them.');
  });

  it('leave it to the job server while one is not known yet', () => {
    const unknown = scheduleButtons(schedule(), null);
    expect(unknown.runNow.enabled && unknown.delete.enabled).toBe(true);
  });

  it('wait while an act is under way, and offer nothing on a deleted one', () => {
    const busy = scheduleButtons(schedule(), 'dev', true);
    expect([busy.pause, busy.runNow, busy.delete].every(b => !b.enabled)).toBe(true);
    const gone = scheduleButtons(schedule({ state: 'deleted' }), 'dev');
    expect([gone.pause, gone.resume, gone.runNow, gone.delete].some(b => b.shown)).toBe(false);
    expect(gone.note).toBe('');
  });
});

describe('the list', () => {
  it('takes a new schedule first, a changed one in place, and drops a deleted one', () => {
    const a = schedule({ id: 'a' });
    const b = schedule({ id: 'b' });
    expect(withSchedule([a], b).map(s => s.id)).toEqual(['b', 'a']);
    const paused = withSchedule([b, a], { ...a, state: 'paused' });
    expect(paused.map(s => [s.id, s.state])).toEqual([
      ['b', 'active'],
      ['a', 'paused']
    ]);
    expect(withSchedule([b, a], { ...a, state: 'deleted' }).map(s => s.id)).toEqual(['b']);
  });
});
