import * as React from 'react';

import { formatDuration } from '../durations';
import { sortedRequests, timeline } from '../model';
import { listItems } from '../runs';
import type { JobsStore } from '../store';
import type { IJobRequest } from '../types';
import { Empty, ErrorNote, Section, shortSha, StateBadge, when } from './common';
import { JobDetail } from './job';
import { RunDetail, RunListItem } from './run';

/**
 * Job requests and study runs newest first; a request opened shows its jobs, their timeline
 * and a log; a run opened, its grid of actions by sites.
 */
export function RequestsView(props: { store: JobsStore }): JSX.Element {
  const store = props.store;
  const request = store.request;
  const run = store.run;
  const live = store.streamOpen ? (
    <span className="jp-ext-live" title="Updating live" data-mode={store.streamMode}>
      ● live
    </span>
  ) : null;
  return (
    <Section title="Job requests" id="requests" extra={live}>
      <ErrorNote message={store.errors.requests} />
      <ErrorNote message={store.runs.errors.runs} />
      <ErrorNote message={store.errors.stream && `Live updates paused: ${store.errors.stream}`} />
      {request ? (
        <RequestDetail store={store} request={request} />
      ) : run ? (
        <RunDetail store={store} run={run} />
      ) : (
        <RequestList store={store} />
      )}
    </Section>
  );
}

function RequestList(props: { store: JobsStore }): JSX.Element {
  const store = props.store;
  const items = listItems(sortedRequests(store.jobs, store.name), store.runs.records, store.name);
  if (!items.length) {
    return <Empty loading={!store.loaded.requests && !store.errors.requests} text="No job requests yet." />;
  }
  return (
    <ul className="jp-ext-requests" aria-label="Job requests">
      {items.map(item => {
        if (item.kind === 'run') {
          return <RunListItem key={item.run.id} store={store} run={item.run} />;
        }
        const r = item.request;
        return (
          <li key={r.id}>
            <button className="jp-ext-request" onClick={() => store.openRequest(r.id)}>
              <StateBadge state={r.state} />
              <span className="jp-ext-request-actions">{r.actions.join(', ') || r.id}</span>
              <span className="jp-ext-dim">
                {r.backend} · {when(r.created_at)}
                {r.created_by ? ` · ${r.created_by}` : ''}
              </span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}

function RequestDetail(props: { store: JobsStore; request: IJobRequest }): JSX.Element {
  const { store, request } = props;
  const view = store.view.kind === 'request' ? store.view : null;
  const now = useNow(request.jobs.some(j => j.state === 'running' || j.state === 'pending'));
  const chart = timeline(request.jobs, now + store.serverAheadMs); // the job server's time
  const job = request.jobs.find(j => j.identifier === view?.job);
  return (
    <div className="jp-ext-request-detail" aria-label={`Job request ${request.id}`}>
      <div className="jp-ext-row">
        <button className="jp-ext-link" onClick={() => store.showList()}>
          ← All requests
        </button>
        <StateBadge state={request.state} />
      </div>
      <div className="jp-ext-dim">
        {request.actions.join(', ')} on {request.backend} at {shortSha(request.sha)}
        {request.force_run_dependencies ? ', dependencies forced' : ''} · {when(request.created_at)}
      </div>
      <ul className="jp-ext-jobs" aria-label="Jobs">
        {chart.bars.map(bar => (
          <li key={bar.job.identifier}>
            <button
              className={`jp-ext-job${bar.job.identifier === view?.job ? ' jp-mod-selected' : ''}`}
              aria-pressed={bar.job.identifier === view?.job}
              onClick={() => store.openJob(bar.job.identifier)}
              title={bar.job.status_message}
            >
              <span className="jp-ext-job-name">{bar.job.action}</span>
              <StateBadge state={bar.job.state} />
              <span className="jp-ext-dim jp-ext-job-times">
                waited {formatDuration(bar.waitedMs)}
                {bar.ranMs !== null ? `, ran ${formatDuration(bar.ranMs)}` : ''}
              </span>
              <span className="jp-ext-timeline" aria-hidden="true">
                <span
                  className="jp-ext-bar-wait"
                  style={{ left: pct(bar.start), width: pct((bar.runStart ?? bar.end) - bar.start) }}
                />
                {bar.runStart !== null && (
                  <span
                    className={`jp-ext-bar-run jp-ext-state-${bar.job.state}`}
                    style={{ left: pct(bar.runStart), width: pct(Math.max(bar.end - bar.runStart, 0.01)) }}
                  />
                )}
              </span>
            </button>
          </li>
        ))}
      </ul>
      <div className="jp-ext-dim">Timeline: {formatDuration(chart.spanMs)} from the request</div>
      {job && <JobDetail store={store} job={job} following={!!view?.follow} />}
    </div>
  );
}

function pct(fraction: number): string {
  return `${Math.max(0, Math.min(1, fraction)) * 100}%`;
}

/**
 * The time now, drawn again each second while `ticking`: always read fresh (a tick's
 * time is up to a second old when an event draws the panel, before a job's start).
 */
function useNow(ticking: boolean): number {
  const [, setTick] = React.useState(0);
  React.useEffect(() => {
    if (!ticking) {
      return;
    }
    const timer = setInterval(() => setTick(t => t + 1), 1000);
    return () => clearInterval(timer);
  }, [ticking]);
  return Date.now();
}
