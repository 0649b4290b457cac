import * as React from 'react';

import { checkSummary, findingLabel, tableShape } from '../releasing';
import type { IFinding } from '../types';

const MARKS = { refuse: '⛔', flag: '⚑', pass: '✓' };

/**
 * What the pre-release rules found in one file. A refusal and a flag differ in words
 * ("Refused", "Flagged") and in mark, not only in colour.
 */
export function Findings(props: {
  path: string;
  findings: IFinding[];
  rows?: number | null;
  columns?: string[] | null;
}): JSX.Element {
  const summary = checkSummary(props.findings);
  const kind = summary.refusals ? 'refuse' : summary.flags ? 'flag' : 'pass';
  const shape = tableShape(props);
  return (
    <div className={`jp-ext-check jp-ext-check-${kind}`} aria-label={`Rules over ${props.path}`}>
      <div className="jp-ext-check-summary">
        <span aria-hidden="true">{MARKS[kind]}</span> {summary.text}
        {shape && <span className="jp-ext-dim"> · {shape}</span>}
      </div>
      {props.findings.length > 0 && (
        <ul className="jp-ext-findings">
          {props.findings.map((finding, i) => (
            <li key={i} className={`jp-ext-finding jp-ext-finding-${finding.verdict}`}>
              <span aria-hidden="true">{MARKS[finding.verdict]}</span> {findingLabel(finding)}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
