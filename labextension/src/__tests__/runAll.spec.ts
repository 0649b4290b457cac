import { runAllPlan, runAllSummary } from '../runAll';
import type { IActionStatus } from '../types';

const action = (name: string, last_state: Record<string, string> = {}): IActionStatus => ({
  name,
  needs: [],
  run: 'r',
  line: 1,
  outputs: {},
  last_state: last_state as IActionStatus['last_state']
});

describe('runAllPlan', () => {
  const actions = [
    action('generate_dataset', { tpp: 'succeeded' }),
    action('derive_measures', { tpp: 'failed' }),
    action('make_table', { tpp: 'running' }),
    action('make_plot', { other: 'succeeded' }),
    action('report')
  ];

  it('runs what has not succeeded on the backend, not what is still running', () => {
    expect(runAllPlan(actions, 'tpp', false)).toEqual(['derive_measures', 'make_plot', 'report']);
  });

  it('runs every action but the running ones when dependencies are forced', () => {
    expect(runAllPlan(actions, 'tpp', true)).toEqual([
      'generate_dataset',
      'derive_measures',
      'make_plot',
      'report'
    ]);
  });

  it('says what it will run, or that there is nothing', () => {
    expect(runAllSummary(actions, 'tpp', false)).toBe('Run all runs derive_measures, make_plot, report.');
    const done = [action('a', { tpp: 'succeeded' })];
    expect(runAllSummary(done, 'tpp', false)).toMatch(/nothing to run/);
  });
});
