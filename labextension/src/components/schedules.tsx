import { Dialog, showDialog } from '@jupyterlab/apputils';
import * as React from 'react';

import type { ScheduleStore } from '../scheduleStore';
import {
  CUSTOM,
  firingSaid,
  ISchedule,
  IScheduleFiring,
  IScheduleForm,
  knownTimeZones,
  nextSaid,
  PRESETS,
  RUN_ALL,
  scheduleButtons,
  scheduleName,
  whenSaid
} from '../schedules';
import { Empty, ErrorNote, Section, StateBadge, when } from './common';

/**
 * The workspace's schedules (when each fires, in words and in its zone, its next firing, its
 * state and last firings, each opening its job request), their buttons, and a form to make
 * one. Refusals are the job server's sentences, shown where the act was asked.
 */
export function SchedulesView(props: { store: ScheduleStore }): JSX.Element {
  const store = props.store;
  React.useEffect(() => {
    store.setOpen(true); // the section starts unfolded
    return () => store.setOpen(false);
  }, [store]);
  const count = store.schedules.length;
  return (
    <Section
      title="Schedules"
      id="schedules"
      onToggle={open => store.setOpen(open)}
      extra={count ? <span className="jp-ext-dim">{count}</span> : null}
    >
      <ErrorNote message={store.errors.list} />
      {count ? (
        <ul className="jp-ext-schedules" aria-label="Schedules">
          {store.schedules.map(s => (
            <ScheduleItem key={s.id} store={store} schedule={s} />
          ))}
        </ul>
      ) : (
        <Empty
          loading={!store.loaded && !store.errors.list}
          text="No schedules yet: a schedule runs actions at the times you choose, with no server of yours up."
        />
      )}
      {store.form ? (
        <ScheduleForm store={store} form={store.form} />
      ) : (
        <button
          type="button"
          className="jp-mod-styled jp-ext-new-schedule"
          disabled={!store.actionNames.length}
          onClick={() => store.openForm()}
        >
          New schedule
        </button>
      )}
    </Section>
  );
}

function ScheduleItem(props: { store: ScheduleStore; schedule: ISchedule }): JSX.Element {
  const { store, schedule } = props;
  const name = scheduleName(schedule);
  const busy = store.busy.get(schedule.id);
  const buttons = scheduleButtons(schedule, store.me, busy !== undefined);
  const firings = store.firings.get(schedule.id) ?? [];
  const headingId = `jp-ext-schedule-${schedule.id}`;
  const item = React.useRef<HTMLLIElement>(null);
  React.useEffect(() => {
    if (store.made === schedule.id) {
      store.made = null;
      item.current?.focus(); // just made: where the form was, the schedule now is
    }
  });
  const remove = async () => {
    const answer = await showDialog({
      title: 'Delete this schedule?',
      body: `“${name}” (${whenSaid(schedule)}) will never fire again. Its history stays readable.`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })],
      defaultButton: 0 // Enter keeps it
    });
    if (answer.button.accept) {
      await store.remove(schedule.id);
    }
  };
  return (
    <li className="jp-ext-schedule" aria-labelledby={headingId} tabIndex={-1} ref={item}>
      <div className="jp-ext-row jp-ext-schedule-head">
        <span id={headingId} className="jp-ext-schedule-name">
          {name}
        </span>
        <StateBadge state={schedule.state} />
      </div>
      <div className="jp-ext-dim">
        {schedule.title ? `${schedule.actions.join(', ')} ` : ''}on {schedule.backends.join(', ')}
        {schedule.force_run_dependencies ? ', dependencies forced' : ''} · by {schedule.created_by}
      </div>
      <div className="jp-ext-schedule-when" title={`cron: ${schedule.cron}`}>
        {whenSaid(schedule)}
      </div>
      <div className="jp-ext-schedule-next">{nextSaid(schedule)}</div>
      {firings.length > 0 && (
        <>
          <div className="jp-ext-dim jp-ext-firings-caption" aria-hidden="true">
            Last firings
          </div>
          <ul className="jp-ext-firings" aria-label={`Last firings of ${name}`}>
            {firings.map(f => (
              <FiringItem key={f.id} store={store} firing={f} />
            ))}
          </ul>
        </>
      )}
      <div className="jp-ext-run-buttons jp-ext-schedule-buttons">
        {buttons.pause.shown && (
          <button
            type="button"
            className="jp-mod-styled"
            aria-label={`Pause ${name}`}
            disabled={!buttons.pause.enabled}
            onClick={() => void store.pause(schedule.id)}
          >
            {busy === 'pause' ? 'Pausing…' : 'Pause'}
          </button>
        )}
        {buttons.resume.shown && (
          <button
            type="button"
            className="jp-mod-styled"
            aria-label={`Resume ${name}`}
            disabled={!buttons.resume.enabled}
            onClick={() => void store.resume(schedule.id)}
          >
            {busy === 'resume' ? 'Resuming…' : 'Resume'}
          </button>
        )}
        {buttons.runNow.shown && (
          <button
            type="button"
            className="jp-mod-styled"
            aria-label={`Run now ${name}`}
            disabled={!buttons.runNow.enabled}
            onClick={() => void store.runNow(schedule.id)}
          >
            {busy === 'run-now' ? 'Running…' : 'Run now'}
          </button>
        )}
        {buttons.delete.shown && (
          <button
            type="button"
            className="jp-mod-styled jp-mod-warn"
            aria-label={`Delete ${name}`}
            disabled={!buttons.delete.enabled}
            onClick={() => void remove()}
          >
            {busy === 'delete' ? 'Deleting…' : 'Delete'}
          </button>
        )}
      </div>
      {buttons.note && <div className="jp-ext-dim">{buttons.note}</div>}
      <ErrorNote message={store.refusals.get(schedule.id)} />
    </li>
  );
}

function FiringItem(props: { store: ScheduleStore; firing: IScheduleFiring }): JSX.Element {
  const { store, firing } = props;
  const made = firing.run ?? firing.job_request;
  const state = firing.job_request ? store.requestState(firing.job_request) : undefined;
  const what = firing.run ? 'study run' : 'job request';
  return (
    <li className="jp-ext-firing">
      <StateBadge state={firing.outcome} />
      <span>{when(firing.fired_at)}</span>
      <span className="jp-ext-dim">{firingSaid(firing)}</span>
      {made && (
        <span className="jp-ext-firing-made">
          <button
            type="button"
            className="jp-ext-link"
            onClick={() => {
              store.openFiring(firing);
              showRequests();
            }}
          >
            Open {what}
          </button>
          {state && <StateBadge state={state} />}
        </span>
      )}
      {firing.outcome !== 'fired' && firing.message && (
        <div className="jp-ext-dim jp-ext-firing-message">{firing.message}</div>
      )}
    </li>
  );
}

/** The Job requests section, unfolded and scrolled to, with focus on what was opened there. */
function showRequests(): void {
  const section = document.querySelector<HTMLDetailsElement>('.jp-ext-section-requests');
  if (!section) {
    return;
  }
  section.open = true;
  section.scrollIntoView({ block: 'start' });
  // the request's view is drawn on the store's next change: focus its way back when it is
  requestAnimationFrame(() =>
    section.querySelector<HTMLElement>('.jp-ext-request-detail button, .jp-ext-run-detail button')?.focus()
  );
}

function ScheduleForm(props: { store: ScheduleStore; form: IScheduleForm }): JSX.Element {
  const { store, form } = props;
  const zones = React.useMemo(() => knownTimeZones(), []);
  const edit = (change: Partial<IScheduleForm>) => store.editForm(change);
  return (
    <form
      className="jp-ext-submit jp-ext-schedule-form"
      aria-label="New schedule"
      onSubmit={e => {
        e.preventDefault();
        void store.create();
      }}
    >
      <label className="jp-ext-field">
        Title (optional)
        <input
          type="text"
          value={form.title}
          autoFocus
          onChange={e => edit({ title: e.currentTarget.value })}
        />
      </label>
      <fieldset className="jp-ext-backends">
        <legend>Actions</legend>
        {store.actionNames.map(a => (
          <label key={a}>
            <input
              type="checkbox"
              checked={form.actions.includes(a)}
              disabled={form.actions.includes(RUN_ALL)}
              onChange={e => store.toggleFormAction(a, e.currentTarget.checked)}
            />{' '}
            {a}
          </label>
        ))}
        <label title="Every action that has not succeeded, with what it needs">
          <input
            type="checkbox"
            checked={form.actions.includes(RUN_ALL)}
            onChange={e => store.toggleFormAction(RUN_ALL, e.currentTarget.checked)}
          />{' '}
          All not yet succeeded (run_all)
        </label>
      </fieldset>
      <fieldset className="jp-ext-backends">
        <legend>Backends</legend>
        {store.backends.map(b => (
          <label key={b.slug} title={b.slug}>
            <input
              type="checkbox"
              checked={form.backends.includes(b.slug)}
              onChange={e => store.toggleFormBackend(b.slug, e.currentTarget.checked)}
            />{' '}
            {b.name || b.slug}
          </label>
        ))}
        {!store.backends.length && <span className="jp-ext-dim">No backend you may use.</span>}
        {form.backends.length > 1 && (
          <div className="jp-ext-dim">Each firing a study run: a job request at each site.</div>
        )}
      </fieldset>
      <div className="jp-ext-field">
        {/* not wrapping the select: its options' text would join its name */}
        <label htmlFor="jp-ext-schedule-when">When</label>
        <select
          id="jp-ext-schedule-when"
          value={form.preset}
          onChange={e => edit({ preset: e.currentTarget.value })}
        >
          {PRESETS.map(p => (
            <option key={p.id} value={p.id}>
              {p.label}
            </option>
          ))}
          <option value={CUSTOM}>Another time (cron expression)</option>
        </select>
      </div>
      <label className="jp-ext-field">
        Cron expression
        <input
          type="text"
          value={form.cron}
          spellCheck={false}
          aria-describedby="jp-ext-schedule-cron-hint"
          onChange={e => edit({ cron: e.currentTarget.value })}
        />
      </label>
      <div id="jp-ext-schedule-cron-hint" className="jp-ext-dim">
        minute hour day-of-month month day-of-week, e.g. 30 7 * * 1-5
      </div>
      <label className="jp-ext-field">
        Time zone
        <input
          type="text"
          value={form.timezone}
          list={zones.length ? 'jp-ext-schedule-zones' : undefined}
          spellCheck={false}
          onChange={e => edit({ timezone: e.currentTarget.value })}
        />
      </label>
      {zones.length > 0 && (
        <datalist id="jp-ext-schedule-zones">
          {zones.map(z => (
            <option key={z} value={z} />
          ))}
        </datalist>
      )}
      <fieldset className="jp-ext-backends">
        <legend>After the job server was down</legend>
        <label>
          <input
            type="radio"
            name="jp-ext-schedule-catch-up"
            checked={form.catchUp === 'once'}
            onChange={() => edit({ catchUp: 'once' })}
          />{' '}
          Run the missed firing once
        </label>
        <label>
          <input
            type="radio"
            name="jp-ext-schedule-catch-up"
            checked={form.catchUp === 'skip'}
            onChange={() => edit({ catchUp: 'skip' })}
          />{' '}
          Skip it
        </label>
      </fieldset>
      <label>
        <input
          type="checkbox"
          checked={form.forceRunDependencies}
          onChange={e => edit({ forceRunDependencies: e.currentTarget.checked })}
        />{' '}
        Force run dependencies
      </label>
      <label>
        <input
          type="checkbox"
          checked={form.notify}
          onChange={e => edit({ notify: e.currentTarget.checked })}
        />{' '}
        Notify me
      </label>
      <ErrorNote message={store.errors.create} />
      <div className="jp-ext-run-buttons">
        <button type="submit" className="jp-mod-styled jp-mod-accept" disabled={store.creating}>
          {store.creating ? 'Creating…' : 'Create schedule'}
        </button>
        <button type="button" className="jp-mod-styled" onClick={() => store.closeForm()}>
          Cancel
        </button>
      </div>
    </form>
  );
}
