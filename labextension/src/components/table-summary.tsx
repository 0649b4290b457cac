import * as React from 'react';

import { namedOnly, summaryCaption, summaryRows } from '../tableSummary';
import type { ITableSummary } from '../types';

/**
 * A table's summary, made on its site: what a checker reads instead of the table. A real
 * table (a caption, header cells with their scope) so a screen reader can walk it; text
 * columns are named only, as their cells never leave the site.
 */
export function TableSummary(props: {
  path: string;
  summary?: ITableSummary | null;
}): JSX.Element | null {
  const { path, summary } = props;
  if (!summary) {
    return null;
  }
  const rows = summaryRows(summary);
  const { text, withheld } = namedOnly(summary);
  return (
    <div className="jp-ext-table-summary">
      {rows.length > 0 ? (
        <table className="jp-ext-summary-table">
          <caption>{summaryCaption(path, summary)}</caption>
          <thead>
            <tr>
              <th scope="col">Column</th>
              <th scope="col">Min</th>
              <th scope="col">Min &gt; 0</th>
              <th scope="col">Max</th>
              <th scope="col">Sum</th>
              <th scope="col">Cells 1–{summary.threshold}</th>
              <th scope="col">Rounded</th>
              <th scope="col">Markers</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(row => (
              <tr key={row.name}>
                <th scope="row">
                  <code>{row.name}</code>
                </th>
                <td>{row.minimum}</td>
                <td>{row.minimumAboveZero}</td>
                <td>{row.maximum}</td>
                <td>{row.total}</td>
                <td className={row.underThreshold ? 'jp-ext-summary-small' : undefined}>
                  {row.underThreshold}
                </td>
                <td>{row.rounded}</td>
                <td>{row.markers}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <div className="jp-ext-dim">{summaryCaption(path, summary)}; no numeric column.</div>
      )}
      {text.length > 0 && (
        <div className="jp-ext-dim">Text columns (not summarised): {text.join(', ')}</div>
      )}
      {withheld.length > 0 && (
        <div className="jp-ext-dim">
          Columns that identify people (no figures): {withheld.join(', ')}
        </div>
      )}
    </div>
  );
}
