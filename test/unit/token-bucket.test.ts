import { describe, expect, it } from 'vitest';
import { retryAfterMs } from '../../src/core/retry-after.ts';
import { TokenBucket } from '../../src/core/token-bucket.ts';

describe('TokenBucket', () => {
  it('tryTake lets a burst through, then says how long until the next token, taking none meanwhile', () => {
    const bucket = new TokenBucket({ perSecond: 10, burst: 2 }, 0);
    expect([bucket.tryTake(0), bucket.tryTake(0)]).toEqual([0, 0]);
    expect(bucket.tryTake(0)).toBe(100);
    expect(bucket.tryTake(50)).toBe(50);
    expect(bucket.tryTake(100)).toBe(0);
    // Never more than the burst, however long it was quiet.
    expect([bucket.tryTake(60_000), bucket.tryTake(60_000), bucket.tryTake(60_000)]).toEqual([0, 0, 100]);
  });

  it('reserve queues callers in order, each one token period after the one before', () => {
    const bucket = new TokenBucket({ perSecond: 50, burst: 100 }, 0);
    const waits = Array.from({ length: 103 }, () => bucket.reserve(0));
    expect(waits.slice(0, 100).every((wait) => wait === 0)).toBe(true);
    expect(waits.slice(100)).toEqual([20, 40, 60]);
    expect(bucket.reserve(60)).toBe(20);
  });
});

describe('retryAfterMs', () => {
  const now = new Date('2030-01-01T00:00:00Z');

  it('reads seconds and HTTP dates', () => {
    expect(retryAfterMs('3', now)).toBe(3_000);
    expect(retryAfterMs('Tue, 01 Jan 2030 00:00:05 GMT', now)).toBe(5_000);
  });

  it('waits a second when the header is missing or unreadable, a moment when it is past, a minute at most', () => {
    expect(retryAfterMs(null, now)).toBe(1_000);
    expect(retryAfterMs('soon', now)).toBe(1_000);
    expect(retryAfterMs('0', now)).toBe(100);
    expect(retryAfterMs('Mon, 31 Dec 2029 23:59:00 GMT', now)).toBe(100);
    expect(retryAfterMs('3600', now)).toBe(60_000);
  });
});
