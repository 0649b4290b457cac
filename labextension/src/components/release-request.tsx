import * as React from 'react';

import { checkKey, releasable } from '../releasing';
import type { JobsStore } from '../store';
import type { IJob } from '../types';
import { ErrorNote } from './common';
import { Findings } from './findings';
import { TableSummary } from './table-summary';
import { ReleaseCard } from './release-card';

/**
 * A succeeded job's moderately sensitive outputs: choose some, check them against the
 * backend's pre-release rules, and ask for their release with a context and a
 * statement of disclosure control. Once asked, the release and its state.
 */
export function ReleaseRequest(props: { store: JobsStore; job: IJob }): JSX.Element | null {
  const { store, job } = props;
  const rs = store.releasing;
  const outputs = releasable(store.outputs.get(job.identifier) ?? []);
  const made = rs.made.get(job.identifier);
  if (made) {
    return (
      <div className="jp-ext-release-request" aria-label="Release requested">
        <div className="jp-ext-subheading">Release requested</div>
        <ReleaseCard release={made} />
        <button className="jp-ext-link" onClick={() => rs.another(job.identifier)}>
          Request another release
        </button>
      </div>
    );
  }
  if (!outputs.length) {
    return null;
  }
  const chosen = rs.chosenPaths(job.identifier);
  const problems = rs.problems(job.identifier);
  return (
    <form
      className="jp-ext-release-request"
      aria-label="Request a release"
      onSubmit={e => {
        e.preventDefault();
        void rs.request(job);
      }}
    >
      <div className="jp-ext-subheading">Release outputs</div>
      <ul className="jp-ext-outputs" aria-label="Outputs to release">
        {outputs.map(output => {
          const id = `jp-ext-release-${job.identifier}-${output.path}`;
          const check = rs.checks.get(checkKey(job.identifier, output.path));
          return (
            <li key={output.path}>
              <input
                type="checkbox"
                id={id}
                checked={chosen.includes(output.path)}
                onChange={e => rs.choose(job.identifier, output.path, e.currentTarget.checked)}
              />
              <label htmlFor={id}>{output.path}</label>{' '}
              <span className="jp-ext-dim">({output.size} bytes)</span>
              {check && (
                <Findings
                  path={output.path}
                  findings={check.findings}
                  rows={check.rows}
                  columns={check.columns}
                />
              )}
              {check && <TableSummary path={output.path} summary={check.summary} />}
            </li>
          );
        })}
      </ul>
      <button
        type="button"
        className="jp-mod-styled jp-ext-check-button"
        disabled={!chosen.length || rs.checking}
        title="Run the backend's pre-release rules over the chosen outputs"
        onClick={() => void rs.check(job)}
      >
        {rs.checking ? 'Checking…' : 'Check'}
      </button>
      <ErrorNote message={rs.errors.check} />
      <label className="jp-ext-field">
        Group
        <input
          value={rs.form.group}
          placeholder="e.g. tables"
          onChange={e => rs.setForm('group', e.currentTarget.value)}
        />
      </label>
      <label className="jp-ext-field">
        Context
        <textarea
          value={rs.form.context}
          placeholder="Needed: what the files show (the population, the period, what each count counts)"
          rows={2}
          onChange={e => rs.setForm('context', e.currentTarget.value)}
        />
      </label>
      <label className="jp-ext-field">
        Disclosure control
        <textarea
          value={rs.form.disclosure}
          placeholder="Needed for tables and flagged files: how small numbers were handled"
          rows={2}
          onChange={e => rs.setForm('disclosure', e.currentTarget.value)}
        />
      </label>
      {chosen.length > 0 && problems.length > 0 && (
        <ul className="jp-ext-hints" aria-label="Before the request can be sent">
          {problems.map(p => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
      <ErrorNote message={rs.errors.request} />
      <button
        type="submit"
        className="jp-mod-styled jp-mod-accept jp-ext-request-release"
        disabled={problems.length > 0 || rs.sending}
      >
        {rs.sending ? 'Requesting…' : 'Request release'}
      </button>
    </form>
  );
}
