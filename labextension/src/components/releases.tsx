import * as React from 'react';

import { api } from '../api';
import { fileTree } from '../model';
import type { JobsStore } from '../store';
import { Empty, ErrorNote, Section, when } from './common';

/** Released outputs: browse by release and folder, open in JupyterLab's viewers, download. */
export function ReleasesView(props: { store: JobsStore }): JSX.Element {
  const store = props.store;
  const releases = store.releases.filter(r => fileTree(r.files).length > 0);
  return (
    <Section title="Released outputs" id="releases">
      <ErrorNote message={store.errors.releases} />
      {!releases.length && (
        <Empty
          loading={!store.loaded.releases && !store.errors.releases}
          text="Nothing released from this workspace yet."
        />
      )}
      {releases.map(release => (
        <div key={release.id} className="jp-ext-release" aria-label={`Release ${release.id}`}>
          <div className="jp-ext-dim">
            Release {release.id.slice(-8)} · {release.backend} · {when(release.published_at)}
          </div>
          <ul className="jp-ext-files">
            {fileTree(release.files).map(row => (
              <li key={row.path} style={{ paddingLeft: `${row.depth * 14}px` }}>
                {row.file ? (
                  <>
                    <button
                      className="jp-ext-link jp-ext-file"
                      title={`Open ${row.path} (read-only)`}
                      onClick={() => store.openReleased(release, row.path)}
                    >
                      {row.name}
                    </button>
                    <a
                      className="jp-ext-icon-button"
                      href={api.fileURL(row.file.id)}
                      download={row.name}
                      aria-label={`Download ${row.path}`}
                      title="Download"
                    >
                      ⤓
                    </a>
                  </>
                ) : (
                  <span className="jp-ext-folder">{row.name}/</span>
                )}
              </li>
            ))}
          </ul>
        </div>
      ))}
    </Section>
  );
}
