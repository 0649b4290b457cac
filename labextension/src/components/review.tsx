import * as React from 'react';

import { api } from '../api';

import { DECISIONS, decisionLabel, myReview, waitingFiles } from '../releasing';
import type { ReleaseStore } from '../releaseStore';
import type { IRelease, IReleaseFile } from '../types';
import { Empty, ErrorNote, Section } from './common';
import { ReleaseCard } from './release-card';

/**
 * For output checkers: releases with files waiting for their vote (never their own),
 * each file with what the rules found; a vote's answer replaces the release in place.
 */
export function ReviewView(props: { store: ReleaseStore }): JSX.Element | null {
  const store = props.store;
  if (!store.canReview) {
    return null;
  }
  const me = store.me!.username;
  const waiting = store.queue.reduce((n, r) => n + waitingFiles(r, me).length, 0);
  return (
    <Section
      title="Review"
      id="review"
      extra={<span className="jp-ext-dim">{waiting ? `${waiting} waiting for you` : ''}</span>}
    >
      <ErrorNote message={store.errors.review} />
      {!store.queue.length && (
        <Empty loading={!store.loaded.queue && !store.errors.review} text="No release waits for your vote." />
      )}
      {store.queue.map(release => (
        <ReleaseCard
          key={release.id}
          release={release}
          action={file => <VoteForm store={store} release={release} file={file} me={me} />}
        />
      ))}
    </Section>
  );
}

function VoteForm(props: {
  store: ReleaseStore;
  release: IRelease;
  file: IReleaseFile;
  me: string;
}): JSX.Element | null {
  const { store, release, file, me } = props;
  const mine = myReview(file, me);
  if (mine) {
    return (
      <div className="jp-ext-my-vote" role="status">
        Your vote: {decisionLabel(mine.decision)}
      </div>
    );
  }
  if (!waitingFiles(release, me).some(f => f.id === file.id)) {
    return null;
  }
  const busy = store.voting.has(file.id);
  return (
    <div className="jp-ext-vote" role="group" aria-label={`Vote on ${file.path}`}>
      {file.review_copy ? (
        <a
          className="jp-ext-link jp-ext-review-copy"
          href={api.reviewCopyURL(release.id, file.id)}
          target="_blank"
          rel="noopener noreferrer"
          title="The copy its backend sent for review; the job server records each read"
        >
          Open {file.path}
        </a>
      ) : (
        <span className="jp-ext-dim">Not sent for review by its backend yet</span>
      )}
      <textarea
        aria-label={`Comment on ${file.path}`}
        placeholder="Comment for the author and the other checkers"
        rows={2}
        value={store.drafts.get(file.id) ?? ''}
        onChange={e => store.setDraft(file.id, e.currentTarget.value)}
      />
      <div className="jp-ext-row">
        {DECISIONS.map(({ decision, label }) => (
          <button
            key={decision}
            className={`jp-mod-styled jp-ext-decision jp-ext-decision-${decision}`}
            disabled={busy}
            onClick={() => void store.vote(release, file, decision)}
          >
            {label}
          </button>
        ))}
      </div>
      <ErrorNote message={store.voteErrors.get(file.id)} />
    </div>
  );
}
