/**
 * What `run_all` will run, shown beside the panel's Run all before it is sent, as the
 * job server plans it (pipeline/planning.py): every action whose last job on the backend
 * has not succeeded (all of them when dependencies are forced), except those whose job
 * is still pending or running (new jobs wait for it).
 */
import type { IActionStatus } from './types';

const ACTIVE = new Set(['pending', 'running']);

export function runAllPlan(actions: IActionStatus[], backend: string, force: boolean): string[] {
  return actions
    .filter(action => {
      const state = action.last_state[backend];
      return !ACTIVE.has(state) && (force || state !== 'succeeded');
    })
    .map(action => action.name);
}

/** The sentence under the Run all button. */
export function runAllSummary(actions: IActionStatus[], backend: string, force: boolean): string {
  const names = runAllPlan(actions, backend, force);
  if (!names.length) {
    return `Run all: every action has succeeded on ${backend} or is running; nothing to run.`;
  }
  return `Run all runs ${names.join(', ')}.`;
}

/** The sentence under Run all for the backends chosen: one as above, several site by site. */
export function runAllSummaryAt(actions: IActionStatus[], backends: string[], force: boolean): string {
  if (backends.length <= 1) {
    return runAllSummary(actions, backends[0] ?? '', force);
  }
  const parts = backends.map(backend => {
    const names = runAllPlan(actions, backend, force);
    return `at ${backend}, ${names.length ? names.join(', ') : 'nothing'}`;
  });
  return `Run all runs ${parts.join('; ')}.`;
}
