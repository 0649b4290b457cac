import * as React from 'react';

import type { JobsStore } from '../store';
import { ErrorNote, Section, shortSha } from './common';

/** Project, repository, branch, the commit a job would run at, and what is not pushed. */
export function WorkspaceView(props: { store: JobsStore }): JSX.Element {
  const { workspace, actions, errors } = props.store;
  const record = workspace?.workspace;
  const checkout = workspace?.checkout;
  return (
    <Section title="Workspace" id="workspace">
      <ErrorNote message={errors.workspace} />
      <ErrorNote message={workspace?.jobserver_error ?? undefined} />
      {workspace && (
        <dl className="jp-ext-facts">
          <dt>Workspace</dt>
          <dd>{workspace.name || '—'}</dd>
          <dt>Project</dt>
          <dd>{record?.project ?? '—'}</dd>
          <dt>Repository</dt>
          <dd className="jp-ext-repo" title={record?.repo}>
            {record?.repo ?? '—'}
          </dd>
          <dt>Branch</dt>
          <dd>{record?.branch ?? checkout?.branch ?? '—'}</dd>
          <dt>Runs at</dt>
          <dd className="jp-ext-sha" title={actions?.sha ?? ''}>
            {shortSha(actions?.sha)}
            {checkout?.head && actions?.sha && checkout.head !== actions.sha && (
              <span className="jp-ext-dim"> (your checkout: {shortSha(checkout.head)})</span>
            )}
          </dd>
        </dl>
      )}
      {checkout?.warnings.length ? (
        <ul className="jp-ext-warnings" aria-label="Checkout warnings">
          {checkout.warnings.map(w => (
            <li key={w} className="jp-ext-warning">
              ⚠ {w}
            </li>
          ))}
        </ul>
      ) : null}
    </Section>
  );
}
