import { describe, expect, it } from 'vitest';
import { DURATION_PATTERN, parseDuration } from '../../src/api/duration.ts';

describe('parseDuration', () => {
  it.each([
    ['90m', 5_400_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['.5s', 500],
    ['0', 0],
    ['-5m', -300_000],
    ['+2s', 2_000],
    ['300ms', 300],
    ['24h', 86_400_000],
    ['2h45m30s250ms', 9_930_250],
    // Go accepts a trailing dot with no fraction digits.
    ['1.h', 3_600_000],
  ])('parses %j as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['10us', 0.01],
    ['1µs', 0.001], // U+00B5 micro sign
    ['1μs', 0.001], // U+03BC Greek small letter mu
    ['100ns', 0.0001],
  ])('parses sub-millisecond %j as a fraction of a millisecond (%d)', (text, ms) => {
    const parsed = parseDuration(text);
    expect(parsed).toBeTypeOf('number');
    expect(parsed).toBeCloseTo(ms, 12);
  });

  it.each(['', '5', 'five hours', '1d', '1h 30m', 'h', '.s', '--1s', '+-1s', ' 1s', '1s ', '1H', '1.5.5s'])(
    'refuses %j',
    (text) => {
      expect(parseDuration(text)).toBeUndefined();
    },
  );

  it('agrees with DURATION_PATTERN on what is a duration', () => {
    const pattern = new RegExp(DURATION_PATTERN);
    for (const text of ['90m', '1.h', '.5s', '0', '-5m', '', '5', '1d', '--1s', '.s']) {
      expect(parseDuration(text) !== undefined, text).toBe(pattern.test(text));
    }
  });
});
