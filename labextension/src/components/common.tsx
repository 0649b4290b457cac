import * as React from 'react';

import { errorMessage } from '../api';

/** A state's symbol, for narrow places (the word beside it or in a title). */
export const SYMBOLS: Record<string, string> = {
  pending: '…',
  running: '▶',
  succeeded: '✓',
  failed: '✗',
  cancelled: '⊘'
};

/**
 * A job's, request's or action's state as a small coloured word; `compact`, as a
 * symbol (the word in its title), for the narrow rows of the actions' tree.
 */
export function StateBadge(props: {
  state: string;
  label?: string;
  compact?: boolean;
  hideLabel?: boolean;
}): JSX.Element {
  const words = props.state.replace(/_/g, ' ');
  const text = props.label ? `${props.label}: ${words}` : words;
  const label = props.label && !props.hideLabel ? props.label : '';
  const shown = props.compact
    ? `${SYMBOLS[props.state] ?? '•'}${label ? ` ${label}` : ''}`
    : `${label ? `${label} ` : ''}${words}`;
  return (
    <span className={`jp-ext-state jp-ext-state-${props.state}`} title={text} aria-label={text}>
      {shown}
    </span>
  );
}

/** A part of the panel that folds (a <details>: keyboard and screen readers know it). */
export function Section(props: {
  title: string;
  id: string;
  open?: boolean;
  extra?: React.ReactNode;
  /** Told when it is unfolded or folded (a section that reads only while open). */
  onToggle?: (open: boolean) => void;
  children: React.ReactNode;
}): JSX.Element {
  const onToggle = props.onToggle;
  return (
    <details
      className={`jp-ext-section jp-ext-section-${props.id}`}
      open={props.open ?? true}
      onToggle={onToggle && (e => onToggle(e.currentTarget.open))}
    >
      <summary className="jp-ext-section-title">
        <span>{props.title}</span>
        {props.extra}
      </summary>
      <div className="jp-ext-section-body">{props.children}</div>
    </details>
  );
}

/** An empty list: "Loading…" until it is read, then what its emptiness means. */
export function Empty(props: { loading: boolean; text: React.ReactNode }): JSX.Element {
  return props.loading ? (
    <div className="jp-ext-dim jp-ext-loading" role="status">
      Loading…
    </div>
  ) : (
    <div className="jp-ext-dim jp-ext-empty">{props.text}</div>
  );
}

/**
 * A form's one submission at a time: `submit(work)` does nothing while one is under way,
 * and a failure becomes `error`'s sentence (cleared by the next submission).
 */
export function useSubmission(): {
  busy: boolean;
  error: string;
  submit: (work: () => Promise<void>) => Promise<void>;
} {
  const [busy, setBusy] = React.useState(false);
  const [error, setError] = React.useState('');
  const submit = async (work: () => Promise<void>) => {
    if (busy) {
      return;
    }
    setBusy(true);
    setError('');
    try {
      await work();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, submit };
}

export function ErrorNote(props: { message?: string }): JSX.Element | null {
  return props.message ? (
    <div className="jp-ext-error" role="alert">
      {props.message}
    </div>
  ) : null;
}

export function shortSha(sha: string | null | undefined): string {
  return sha ? sha.slice(0, 7) : '—';
}

/** 14:03:27 today, else the date and time. */
export function when(iso: string | null | undefined): string {
  if (!iso) {
    return '';
  }
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}
