import * as React from 'react';

import type { ILogLine } from '../types';

/** A job's log, kept scrolled to its end while it grows unless the reader scrolled up. */
export function LogView(props: { job: string; lines: ILogLine[]; live: boolean }): JSX.Element {
  const ref = React.useRef<HTMLPreElement>(null);
  const pinned = React.useRef(true);
  React.useLayoutEffect(() => {
    const node = ref.current;
    if (node && pinned.current) {
      node.scrollTop = node.scrollHeight;
    }
  }, [props.lines.length, props.job]);
  return (
    <pre
      ref={ref}
      className="jp-ext-log"
      aria-label={`Log of ${props.job}`}
      aria-live="polite"
      tabIndex={0}
      onScroll={e => {
        const node = e.currentTarget;
        pinned.current = node.scrollTop + node.clientHeight >= node.scrollHeight - 4;
      }}
    >
      {props.lines.length === 0 && (
        <span className="jp-ext-dim">{props.live ? 'Waiting for the first line…' : 'No log lines.'}</span>
      )}
      {props.lines.map(line => (
        <div key={line.seq} className="jp-ext-log-line" data-seq={line.seq}>
          {line.text}
        </div>
      ))}
    </pre>
  );
}
