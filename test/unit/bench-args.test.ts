import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from '../../bench/args.ts';

describe("the bench's arguments", () => {
  it('runs the short default run without arguments', () => {
    expect(parseBenchArgs([])).toEqual({ kind: 'default' });
  });

  it('selects the large run with --entries N, as two arguments or one', () => {
    expect(parseBenchArgs(['--entries', '10000'])).toEqual({ kind: 'large', entries: 10_000 });
    expect(parseBenchArgs(['--entries=2000'])).toEqual({ kind: 'large', entries: 2_000 });
  });

  it('refuses a count that is missing, fractional or below one entry per namespace', () => {
    expect(() => parseBenchArgs(['--entries'])).toThrow(/whole number/);
    expect(() => parseBenchArgs(['--entries', '1.5'])).toThrow(/whole number/);
    expect(() => parseBenchArgs(['--entries', '99'])).toThrow(/at least 100/);
  });

  it('refuses an argument it does not know rather than ignoring it', () => {
    expect(() => parseBenchArgs(['--entires', '10000'])).toThrow(/unknown argument --entires/);
  });
});
