import * as React from 'react';

import { datasetSummaries } from '../datasets';
import type { JobsStore } from '../store';
import { ErrorNote, Section } from './common';

/**
 * The datasets the workspace's project may use: description, owner, newest version and its
 * manifest (files, rows, columns and their types). Their dummy data loads in a notebook
 * (`client.datasets.dummy(name)`); asking for another is `DatasetBrowser`'s form.
 */
export function DatasetsView(props: { store: JobsStore }): JSX.Element {
  const store = props.store;
  const datasets = datasetSummaries(store.datasets);
  return (
    <Section title={`Datasets (${datasets.length})`} id="datasets" open={false}>
      <ErrorNote message={store.errors.datasets} />
      {!datasets.length && !store.errors.datasets && (
        <div className="jp-ext-dim">
          This project may use no dataset yet: ask for one with <code>DatasetBrowser()</code> in
          a notebook.
        </div>
      )}
      {datasets.map(d => (
        <div key={d.key} className="jp-ext-dataset" aria-label={`Dataset ${d.name} at ${d.backend}`}>
          <div>
            <strong>{d.name}</strong>{' '}
            <span className="jp-ext-dim">
              {d.backend} · {d.owner} · {d.version}
            </span>
          </div>
          <div title={d.more || undefined}>{d.headline}</div>
          {d.files.map(f => (
            <details key={f.path} className="jp-ext-dataset-file">
              <summary>
                <code>{f.path}</code> <span className="jp-ext-dim">{f.shape}</span>
              </summary>
              {f.columns.length ? (
                <ul className="jp-ext-columns" aria-label={`Columns of ${f.path}`}>
                  {f.columns.map(c => (
                    <li key={c}>{c}</li>
                  ))}
                </ul>
              ) : (
                <div className="jp-ext-dim">not a table</div>
              )}
            </details>
          ))}
        </div>
      ))}
    </Section>
  );
}
