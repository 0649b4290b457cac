import * as React from 'react';

import { collectedBySite, IRunItem, runGrid, unfinished } from '../runs';
import type { JobsStore } from '../store';
import type { ICollected, IJob } from '../types';
import { ErrorNote, shortSha, StateBadge, SYMBOLS, when } from './common';
import { JobDetail } from './job';

/** A study run in the list of requests: one item, its sites' parts side by side. */
export function RunListItem(props: { store: JobsStore; run: IRunItem }): JSX.Element {
  const { store, run } = props;
  return (
    <li>
      <button className="jp-ext-request jp-ext-run-item" onClick={() => store.openRun(run.id)}>
        <StateBadge state={run.state} />
        <span className="jp-ext-request-actions">{run.actions.join(', ') || run.id}</span>
        <span className="jp-ext-dim">
          study run · {when(run.created_at)}
          {run.created_by ? ` · ${run.created_by}` : ''}
        </span>
        <span className="jp-ext-run-parts">
          {run.sites.map(site => (
            <StateBadge key={site.backend} state={site.state} label={site.backend} compact />
          ))}
        </span>
      </button>
    </li>
  );
}

/**
 * A study run opened: a grid of its actions (rows) by sites (columns), live; each site's
 * word from the job server ("waiting for south: last seen …") and its cancel; each cell
 * opens that job's log below; and the collection of its released outputs.
 */
export function RunDetail(props: { store: JobsStore; run: IRunItem }): JSX.Element {
  const { store, run } = props;
  const view = store.view.kind === 'run' ? store.view : null;
  const grid = runGrid(run, store.actions?.actions.map(a => a.name));
  const job = view?.job ? store.job(view.job) : undefined;
  const errors = store.runs.errors;
  const cancelling = store.runs.cancelling;
  return (
    <div className="jp-ext-run-detail" role="group" aria-label={`Study run ${run.id}`}>
      <div className="jp-ext-row">
        <button className="jp-ext-link" onClick={() => store.showList()}>
          ← All requests
        </button>
        <StateBadge state={run.state} />
        {store.runs.streamOpen && (
          <span className="jp-ext-live" title="This run's events, live">
            ● live
          </span>
        )}
      </div>
      <div className="jp-ext-dim">
        Study run of {run.actions.join(', ')} at {shortSha(run.sha)}
        {run.force_run_dependencies ? ', dependencies forced' : ''} · {when(run.created_at)}
        {run.created_by ? ` · ${run.created_by}` : ''}
      </div>
      <ErrorNote message={errors.run} />
      <ErrorNote message={errors.stream && `Live updates paused: ${errors.stream}`} />
      <ErrorNote message={errors.cancel} />
      <div className="jp-ext-grid-scroll">
      <table className="jp-ext-grid" aria-label="Jobs by action and site">
        <thead>
          <tr>
            <th scope="col">Action</th>
            {run.sites.map(site => (
              <th scope="col" key={site.backend}>
                <span className="jp-ext-site-name">{site.backend}</span>{' '}
                <StateBadge state={site.state} compact />
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {grid.rows.map(row => (
            <tr key={row.action}>
              <th scope="row" className="jp-ext-grid-action">
                {row.action}
              </th>
              {row.cells.map((cell, i) => (
                <td key={grid.sites[i]}>
                  <Cell store={store} action={row.action} site={grid.sites[i]} job={cell} chosen={view?.job} />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      </div>
      {!grid.rows.length && <div className="jp-ext-dim">Loading the sites' jobs…</div>}
      <ul className="jp-ext-sites" aria-label="Sites">
        {run.sites.map(site => (
          <li key={site.backend} className="jp-ext-site">
            <strong>{site.backend}</strong>
            <span className={site.message ? 'jp-ext-site-message' : 'jp-ext-dim'}>
              {site.message || site.state.replace(/_/g, ' ')}
            </span>
            {site.online === false && !site.message && <span className="jp-ext-dim">(offline)</span>}
            {unfinished(site.state) && (
              <button
                className="jp-ext-link jp-ext-cancel-site"
                disabled={cancelling.has(run.id) || cancelling.has(`${run.id}/${site.backend}`)}
                onClick={() => void store.runs.cancel(run.id, site.backend)}
              >
                Cancel {site.backend}
              </button>
            )}
          </li>
        ))}
      </ul>
      {unfinished(run.state) && (
        <button
          className="jp-mod-styled jp-ext-cancel-run"
          disabled={cancelling.has(run.id)}
          onClick={() => void store.runs.cancel(run.id)}
        >
          {cancelling.has(run.id) ? 'Cancelling…' : 'Cancel all sites'}
        </button>
      )}
      <Collect store={store} run={run} />
      {job ? (
        <JobDetail store={store} job={job} following />
      ) : (
        grid.rows.length > 0 && <div className="jp-ext-dim">Choose a cell to see that job's log.</div>
      )}
    </div>
  );
}

function Cell(props: {
  store: JobsStore;
  action: string;
  site: string;
  job: IJob | null;
  chosen: string | null | undefined;
}): JSX.Element {
  const { store, action, site, job } = props;
  if (!job) {
    return (
      <span className="jp-ext-dim" title={`${action} was not planned at ${site}: it had run there, or was not needed`}>
        —
      </span>
    );
  }
  const words = job.state.replace(/_/g, ' ');
  const chosen = job.identifier === props.chosen;
  return (
    <button
      className={`jp-ext-cell${chosen ? ' jp-mod-selected' : ''}`}
      aria-pressed={chosen}
      aria-label={`${action} at ${site}: ${words}`}
      title={job.status_message ? `${words}: ${job.status_message}` : `Show the log of ${action} at ${site}`}
      data-state={job.state}
      onClick={() => store.openJob(job.identifier)}
    >
      <span className={`jp-ext-state jp-ext-state-${job.state}`} aria-hidden="true">
        {SYMBOLS[job.state] ?? '•'}
      </span>
    </button>
  );
}

/** Collect: the folder asked for, then what was written and what is missing, site by site. */
function Collect(props: { store: JobsStore; run: IRunItem }): JSX.Element {
  const { store, run } = props;
  const [asking, setAsking] = React.useState(false);
  const state = store.runs.collectState(run.id);
  const field = `jp-ext-collect-folder-${run.id}`;
  return (
    <div className="jp-ext-collect">
      {asking ? (
        <form
          className="jp-ext-collect-form"
          onSubmit={e => {
            e.preventDefault();
            void store.runs.collect(run.id);
          }}
        >
          <label className="jp-ext-field" htmlFor={field}>
            Collect the released outputs of every site into the folder
          </label>
          <input
            id={field}
            className="jp-ext-collect-input"
            value={state.folder}
            onChange={e => store.runs.setFolder(run.id, e.currentTarget.value)}
          />
          <div className="jp-ext-row">
            <button
              type="submit"
              className="jp-mod-styled jp-mod-accept"
              disabled={state.busy || !state.folder.trim()}
            >
              {state.busy ? 'Collecting…' : 'Collect'}
            </button>
            <button type="button" className="jp-mod-styled" onClick={() => setAsking(false)}>
              Close
            </button>
          </div>
        </form>
      ) : (
        <button className="jp-mod-styled jp-ext-collect-open" onClick={() => setAsking(true)}>
          Collect released outputs…
        </button>
      )}
      <ErrorNote message={state.error} />
      {state.result && <Collected store={store} run={run} result={state.result} />}
    </div>
  );
}

function Collected(props: { store: JobsStore; run: IRunItem; result: ICollected }): JSX.Element {
  const { store, run, result } = props;
  const sites = collectedBySite(result, run.sites.map(s => s.backend));
  const count = result.files.length;
  return (
    <div className="jp-ext-collected" role="status">
      <div>
        {count} file{count === 1 ? '' : 's'} written to <span className="jp-ext-file-path">{result.folder}</span>
        , with manifest.json
      </div>
      <ul className="jp-ext-collected-sites" aria-label="Collected by site">
        {sites.map(site => (
          <li key={site.site} className={`jp-ext-collected-site${site.missing ? ' jp-ext-missing' : ''}`}>
            <strong>{site.site}</strong>:{' '}
            {site.files.length ? `${site.files.length} file${site.files.length === 1 ? '' : 's'}` : 'nothing yet'}
            {site.files.length > 0 && (
              <ul className="jp-ext-collected-files">
                {site.files.map(path => (
                  <li key={path} className="jp-ext-file-path">
                    {path}
                  </li>
                ))}
              </ul>
            )}
            {site.missing && <div className="jp-ext-dim">{site.missing}</div>}
          </li>
        ))}
      </ul>
      <button className="jp-ext-link" onClick={() => store.runs.showFolder(result.folder)}>
        Show {result.folder} in the file browser
      </button>
    </div>
  );
}
