import * as React from 'react';

import { actionTree, problemLabel } from '../model';
import { runAllSummaryAt } from '../runAll';
import type { JobsStore } from '../store';
import { ErrorNote, Section, StateBadge } from './common';

/** The actions of project.yaml as a dependency tree, or its problems; and the submit form. */
export function ActionsView(props: { store: JobsStore }): JSX.Element {
  const store = props.store;
  const answer = store.actions;
  const file = answer?.file ?? 'project.yaml';
  const rows = answer ? actionTree(answer.actions) : [];
  return (
    <Section title="Actions" id="actions">
      <ErrorNote message={store.errors.actions} />
      {answer?.problems.length ? (
        <div className="jp-ext-problems" role="alert">
          <div>{file} is not valid: no job can run until it is fixed.</div>
          <ul>
            {answer.problems.map((p, i) => (
              <li key={i}>
                <button
                  className="jp-ext-link"
                  title={`Open ${p.path ?? file} at this line`}
                  onClick={() => store.openFileAt(file, p.line, p.column)}
                >
                  {problemLabel(p)}
                </button>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      {rows.length > 0 && (
        <ul className="jp-ext-tree" aria-label="Actions">
          {rows.map(row => {
            const a = row.action;
            const id = `jp-ext-action-${a.name}`;
            return (
              <li key={a.name} className="jp-ext-action" style={{ paddingLeft: `${row.depth * 14}px` }}>
                <input
                  type="checkbox"
                  id={id}
                  checked={store.selected.has(a.name)}
                  onChange={e => store.toggle(a.name, e.currentTarget.checked)}
                />
                <label
                  htmlFor={id}
                  className="jp-ext-action-name"
                  title={row.alsoNeeds.length ? `${a.run}\nalso needs ${row.alsoNeeds.join(', ')}` : a.run}
                >
                  {row.depth > 0 && <span className="jp-ext-dim">└ </span>}
                  {a.name}
                  {row.alsoNeeds.length > 0 && (
                    <span className="jp-ext-dim jp-ext-needs"> + {row.alsoNeeds.join(', ')}</span>
                  )}
                </label>
                {Object.entries(a.last_state).map(([backend, state], _, all) => (
                  <StateBadge
                    key={backend}
                    state={state}
                    label={backend}
                    hideLabel={all.length === 1 && store.chosen.length === 1 && backend === store.backend}
                    compact
                  />
                ))}
                {a.line ? (
                  <button
                    className="jp-ext-icon-button"
                    aria-label={`Open ${file} at ${a.name}`}
                    title={`${file}, line ${a.line}`}
                    onClick={() => store.openFileAt(file, a.line)}
                  >
                    ↗
                  </button>
                ) : null}
              </li>
            );
          })}
        </ul>
      )}
      <SubmitForm store={store} />
    </Section>
  );
}

function SubmitForm(props: { store: JobsStore }): JSX.Element {
  const store = props.store;
  const count = store.selected.size;
  const sites = store.chosen.length;
  const where = sites > 1 ? ` at ${sites} sites` : '';
  const dirty = (store.workspace?.checkout.warnings.length ?? 0) > 0;
  return (
    <form
      className="jp-ext-submit"
      onSubmit={e => {
        e.preventDefault();
        void store.submit();
      }}
    >
      <BackendChoice store={store} />
      <label>
        <input
          type="checkbox"
          checked={store.forceRunDependencies}
          onChange={e => store.setOption('forceRunDependencies', e.currentTarget.checked)}
        />{' '}
        Force run dependencies
      </label>
      <label>
        <input
          type="checkbox"
          checked={store.notify}
          onChange={e => store.setOption('notify', e.currentTarget.checked)}
        />{' '}
        Notify me
      </label>
      {dirty && (
        <div className="jp-ext-dim">Jobs run the pushed commit, not the files on screen.</div>
      )}
      <ErrorNote message={store.errors.submit} />
      <div className="jp-ext-run-buttons">
        <button type="submit" className="jp-mod-styled jp-mod-accept jp-ext-run" disabled={!store.canSubmit}>
          {store.submitting
            ? 'Submitting…'
            : count
              ? `Run ${count} action${count > 1 ? 's' : ''}${where}`
              : 'Select actions to run'}
        </button>
        <button
          type="button"
          className="jp-mod-styled jp-ext-run-all"
          disabled={!store.canRunAll}
          title={`run_all: every action that has not succeeded on ${store.chosen.join(', ') || 'the backend'}, with what it needs`}
          onClick={() => void store.submit(true)}
        >
          Run all
        </button>
      </div>
      {store.canRunAll && (
        <div className="jp-ext-dim jp-ext-run-all-plan">
          {runAllSummaryAt(store.actions!.actions, store.chosen, store.forceRunDependencies)}
        </div>
      )}
    </form>
  );
}

/**
 * The backends to run at, as checkboxes: one chosen sends a job request; several, a study run
 * (a job request at each site, at one commit, followed as one).
 */
function BackendChoice(props: { store: JobsStore }): JSX.Element {
  const store = props.store;
  return (
    <fieldset className="jp-ext-backends">
      <legend>Backends</legend>
      {store.backends.map(b => (
        <label key={b.slug} className="jp-ext-backend" title={b.slug}>
          <input
            type="checkbox"
            checked={store.chosen.includes(b.slug)}
            onChange={e => store.toggleBackend(b.slug, e.currentTarget.checked)}
          />{' '}
          {b.name || b.slug}
          {b.online ? '' : ' (offline)'}
        </label>
      ))}
      {!store.backends.length && <span className="jp-ext-dim">No backend you may use.</span>}
      {store.chosen.length > 1 && (
        <div className="jp-ext-dim">A study run: a job request at each site, all at one commit.</div>
      )}
    </fieldset>
  );
}
