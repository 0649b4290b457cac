import * as React from 'react';

import { currentFiles, decisionLabel } from '../releasing';
import type { IRelease, IReleaseFile } from '../types';
import { StateBadge, when } from './common';
import { Findings } from './findings';
import { Overlaps } from './overlaps';
import { TableSummary } from './table-summary';

/**
 * One release: who asked, its groups' context and disclosure control, and each file
 * asked for now with its state, what the rules found, its table's summary, the released
 * tables it overlaps, the votes one may see and the comments. `action` adds what one may
 * do to a file (a checker's vote).
 */
export function ReleaseCard(props: {
  release: IRelease;
  action?: (file: IReleaseFile) => React.ReactNode;
}): JSX.Element {
  const { release, action } = props;
  return (
    <div className="jp-ext-release-card" aria-label={`Release ${release.id}`}>
      <div className="jp-ext-row">
        <StateBadge state={release.state} />
        <span className="jp-ext-dim">
          {release.id.slice(-8)} · {release.workspace} · {release.backend} · by{' '}
          {release.created_by} · {when(release.created_at)}
        </span>
      </div>
      {Object.entries(release.groups ?? {}).map(([name, group]) => (
        <dl key={name} className="jp-ext-facts jp-ext-group">
          <dt>Group</dt>
          <dd>{name}</dd>
          <dt>Context</dt>
          <dd className="jp-ext-wrap">{group.context}</dd>
          <dt>Disclosure</dt>
          <dd className="jp-ext-wrap">{group.disclosure_control}</dd>
        </dl>
      ))}
      <ul className="jp-ext-release-files" aria-label="Files">
        {currentFiles(release).map(file => (
          <li key={file.id} className="jp-ext-release-file">
            <div className="jp-ext-row">
              <span className="jp-ext-file-path">{file.path}</span>
              {(file.version ?? 1) > 1 && <span className="jp-ext-dim">version {file.version}</span>}
              <StateBadge state={file.state} />
            </div>
            <Findings
              path={file.path}
              findings={file.findings ?? []}
              rows={file.rows}
              columns={file.columns}
            />
            <TableSummary path={file.path} summary={file.summary} />
            <Overlaps path={file.path} overlaps={file.overlaps} />
            <Votes file={file} />
            {action?.(file)}
          </li>
        ))}
      </ul>
    </div>
  );
}

function Votes(props: { file: IReleaseFile }): JSX.Element | null {
  const { reviews = [], comments = [] } = props.file;
  if (!reviews.length && !comments.length) {
    return null;
  }
  return (
    <ul className="jp-ext-votes" aria-label={`Votes and comments on ${props.file.path}`}>
      {reviews.map(review => (
        <li key={`vote-${review.reviewer}`}>
          <strong>{review.reviewer}</strong>: {decisionLabel(review.decision)}
          {review.comment ? ` — ${review.comment}` : ''}
        </li>
      ))}
      {comments.map((comment, i) => (
        <li key={`comment-${i}`}>
          <strong>{comment.author}</strong>{' '}
          <span className="jp-ext-dim">({when(comment.created_at)})</span>: {comment.text}
        </li>
      ))}
    </ul>
  );
}
