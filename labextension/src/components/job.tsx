import * as React from 'react';

import { releasable } from '../releasing';
import type { JobsStore } from '../store';
import type { IJob } from '../types';
import { resourcesText, usageText } from '../usage';
import { LogView } from './log';
import { ReleaseRequest } from './release-request';

/** A notebook job's values as people write them: `min_age=65, region="north"`. */
export function parameterText(values: Record<string, unknown>): string {
  return Object.entries(values)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(', ');
}

/**
 * One job: its log (live while it runs), its outputs and, once it succeeded, the form asking
 * for their release. `following`: the request follows its running job (no button to).
 */
export function JobDetail(props: { store: JobsStore; job: IJob; following: boolean }): JSX.Element {
  const { store, job, following } = props;
  const lines = store.jobs.logs.get(job.identifier) ?? [];
  const succeeded = job.state === 'succeeded';
  // a succeeded job's releasable outputs are listed in its release form
  const outputs = (store.outputs.get(job.identifier) ?? []).filter(
    o => !succeeded || !releasable([o]).length
  );
  return (
    <div className="jp-ext-job-detail">
      <div className="jp-ext-row">
        <strong>{job.action}</strong>
        <span className="jp-ext-dim">{job.identifier}</span>
        {!following && (
          <button className="jp-ext-link" onClick={() => store.followRunning()}>
            Follow the running job
          </button>
        )}
      </div>
      {job.status_message && <div className="jp-ext-dim">{job.status_message}</div>}
      {job.parameters && Object.keys(job.parameters).length > 0 && (
        <div className="jp-ext-dim jp-ext-job-parameters">
          Parameters: {parameterText(job.parameters)}
        </div>
      )}
      {job.resources && (
        <div className="jp-ext-dim jp-ext-job-resources">Asked for: {resourcesText(job.resources)}</div>
      )}
      {job.usage && <div className="jp-ext-dim jp-ext-job-usage">Used: {usageText(job.usage)}</div>}
      <LogView job={job.identifier} lines={lines} live={job.state === 'running' || job.state === 'pending'} />
      {outputs.length > 0 && (
        <ul className="jp-ext-outputs" aria-label="Outputs">
          {outputs.map(o => (
            <li key={o.path}>
              {o.path} <span className="jp-ext-dim">({o.privacy_level.replace(/_/g, ' ')}, {o.size} bytes)</span>
            </li>
          ))}
        </ul>
      )}
      {succeeded && <ReleaseRequest store={store} job={job} />}
    </div>
  );
}
