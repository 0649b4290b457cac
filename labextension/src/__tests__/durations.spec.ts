import { elapsed, formatDuration, serverAhead } from '../durations';

describe('formatDuration', () => {
  it.each([
    [0, '0 ms'],
    [0.4, '0 ms'],
    [106, '106 ms'],
    [999.4, '999 ms'],
    [999.6, '1.0 s'],
    [1000, '1.0 s'],
    [12340, '12.3 s'],
    [59940, '59.9 s'],
    [59960, '1 min 00 s'],
    [245000, '4 min 05 s'],
    [3599400, '59 min 59 s'],
    [3599600, '1 h 00 min'],
    [7380000, '2 h 03 min'],
    [200 * 3600 * 1000, '200 h 00 min']
  ])('gives %d ms a unit that fits: %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it.each([-106, -5000, -7200000])('is never negative (%d ms reads 0 ms)', ms => {
    expect(formatDuration(ms)).toBe('0 ms');
  });

  it('says nothing of an unknown length', () => {
    expect(formatDuration(null)).toBe('');
    expect(formatDuration(undefined)).toBe('');
    expect(formatDuration(NaN)).toBe('');
  });
});

describe('elapsed', () => {
  it('measures between two times, never below zero', () => {
    expect(elapsed('2026-01-01T10:00:00Z', '2026-01-01T10:00:00.640Z')).toBe(640);
    expect(elapsed('2026-01-01T10:00:01Z', '2026-01-01T10:00:00Z')).toBe(0);
    expect(elapsed(1000, 400)).toBe(0);
    expect(elapsed(null, 5)).toBeNull();
    expect(elapsed('not a time', 5)).toBeNull();
  });
});

describe('serverAhead', () => {
  const arrived = Date.parse('2026-01-01T10:00:00Z');
  it('learns how far the server is at least ahead from what it stamped', () => {
    expect(serverAhead(0, ['2026-01-01T10:00:00.106Z'], arrived)).toBe(106);
    expect(serverAhead(106, ['2026-01-01T09:59:59Z', null, undefined], arrived)).toBe(106);
    expect(serverAhead(50, ['2026-01-01T10:00:00.300Z', '2026-01-01T10:00:00.200Z'], arrived)).toBe(300);
  });

  it('takes a server behind the browser as 0', () => {
    expect(serverAhead(0, ['2026-01-01T09:00:00Z'], arrived)).toBe(0);
    expect(serverAhead(-5, [], arrived)).toBe(0);
  });
});
