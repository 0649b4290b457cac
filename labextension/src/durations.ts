/**
 * How long something took or has been running, for the panel: one function, the
 * pages' `duration` (jobserver/pages/durations.py) in TypeScript. A length is never
 * negative: a running job's start comes from the job server's clock, which may be
 * a little ahead of the browser's, and a job can start between two ticks of the
 * panel's clock.
 */

/** 850 ms, 12.3 s, 4 min 05 s, 2 h 03 min; '' for no length, 0 ms for a negative one. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) {
    return '';
  }
  ms = Math.max(0, ms);
  if (Math.round(ms) < 1000) {
    return `${Math.round(ms)} ms`;
  }
  if (Math.round(ms / 100) < 600) {
    return `${(ms / 1000).toFixed(1)} s`; // 59.96 s reads as 1 min 00 s, not 60.0 s
  }
  const whole = Math.round(ms / 1000);
  if (whole < 3600) {
    return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`;
  }
  const minutes = Math.floor(whole / 60);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** Milliseconds from `start` to `end` (ISO times or epoch ms), never below 0; null if unknown. */
export function elapsed(start: string | number | null, end: string | number | null): number | null {
  const from = typeof start === 'string' ? Date.parse(start) : start;
  const to = typeof end === 'string' ? Date.parse(end) : end;
  if (from === null || to === null || !Number.isFinite(from) || !Number.isFinite(to)) {
    return null;
  }
  return Math.max(0, to - from);
}

/**
 * How far the job server's clock is known to be ahead of the browser's: an event
 * stamped `stamp` (its clock) that arrived at `arrived` (ours) shows it is at least
 * `stamp - arrived` ahead. The largest such bound is kept, and a clock behind ours
 * counts as 0 (it can only make a length look a little longer, never negative).
 */
export function serverAhead(known: number, stamps: (string | null | undefined)[], arrived: number): number {
  let ahead = Math.max(0, known);
  for (const stamp of stamps) {
    const at = stamp ? Date.parse(stamp) : NaN;
    if (Number.isFinite(at)) {
      ahead = Math.max(ahead, at - arrived);
    }
  }
  return ahead;
}
