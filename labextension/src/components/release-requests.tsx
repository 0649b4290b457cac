import * as React from 'react';

import type { ReleaseStore } from '../releaseStore';
import { Empty, ErrorNote, Section } from './common';
import { ReleaseCard } from './release-card';

/** The workspace's release requests under review: each file's state, findings and votes. */
export function ReleaseRequestsView(props: { store: ReleaseStore }): JSX.Element {
  const store = props.store;
  return (
    <Section title="Release requests" id="release-requests">
      <ErrorNote message={store.errors.requests} />
      {!store.requests.length && (
        <Empty
          loading={!store.loaded.requests && !store.errors.requests}
          text="No release under review. Choose outputs of a succeeded job to ask for one."
        />
      )}
      {store.requests.map(release => (
        <ReleaseCard key={release.id} release={release} />
      ))}
    </Section>
  );
}
