import * as React from 'react';

import type { IOverlap } from '../types';

/** Flagged cells named in words; the rest are counted ("and 3 more"). */
export const CELLS_SHOWN = 10;

function plural(count: number, word: string): string {
  return `${count.toLocaleString('en')} ${word}${count === 1 ? '' : 's'}`;
}

/** `Shares 4 rows with output/by_region.csv (workspace sample, release 9XK2ZQ1M)`. */
export function overlapText(overlap: IOverlap): string {
  return (
    `Shares ${plural(overlap.rows, 'row')} with ${overlap.path} ` +
    `(workspace ${overlap.workspace}, release ${overlap.release.slice(-8)})`
  );
}

/**
 * `2 cells differ by a small count: row 1, deaths; row 3, patients`, the cells by data row
 * (from 1) and column, never a value; empty when none is flagged.
 */
export function flaggedText(overlap: IOverlap): string {
  const flagged = overlap.flagged ?? 0;
  if (!flagged) {
    return '';
  }
  const count = flagged === 1 ? '1 cell differs' : `${flagged.toLocaleString('en')} cells differ`;
  const shown = (overlap.cells ?? []).slice(0, CELLS_SHOWN);
  if (!shown.length) {
    return `${count} by a small count`;
  }
  const named = shown.map(([row, column]) => `row ${row}, ${column}`).join('; ');
  const more = flagged > shown.length ? ` and ${(flagged - shown.length).toLocaleString('en')} more` : '';
  return `${count} by a small count: ${named}${more}`;
}

/**
 * The tables the project already released that share rows with a file under review
 * (differencing, done by the job server when the review copy came), as the release page
 * lists them: each by its path, workspace and release, the rows shared and the cells that
 * differ by a small count. Nothing when there is none. No value is ever shown: there are
 * none in the data.
 */
export function Overlaps(props: { path: string; overlaps?: IOverlap[] | null }): JSX.Element | null {
  const { path, overlaps } = props;
  if (!overlaps?.length) {
    return null;
  }
  return (
    <div className="jp-ext-check jp-ext-overlaps">
      <div className="jp-ext-check-summary">Overlaps released tables</div>
      <ul className="jp-ext-findings" aria-label={`Released tables overlapping ${path}`}>
        {overlaps.map(overlap => {
          const flagged = flaggedText(overlap);
          return (
            <li key={overlap.file} className="jp-ext-finding" title={`release ${overlap.release}`}>
              {overlapText(overlap)}
              {flagged && (
                <>
                  {'; '}
                  <span className="jp-ext-finding-flag">{flagged}</span>
                </>
              )}
            </li>
          );
        })}
      </ul>
    </div>
  );
}
