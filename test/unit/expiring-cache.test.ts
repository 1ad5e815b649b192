import { describe, expect, it } from 'vitest';
import { ExpiringCache } from '../../src/core/expiring-cache.ts';

const clock = (start = 0) => {
  let ms = start;
  return { now: () => new Date(ms), advance: (by: number) => (ms += by) };
};

describe('ExpiringCache', () => {
  it('returns a value until its time to live has passed, then forgets it', () => {
    const time = clock();
    const cache = new ExpiringCache<string, number>({ maxEntries: 4, now: time.now });
    cache.set('a', 1, 1_000);
    time.advance(999);
    expect(cache.get('a')).toBe(1);
    time.advance(1);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('gives each entry its own time to live', () => {
    const time = clock();
    const cache = new ExpiringCache<string, string>({ maxEntries: 4, now: time.now });
    cache.set('allowed', 'yes', 30_000);
    cache.set('denied', 'no', 10_000);
    time.advance(10_000);
    expect(cache.get('denied')).toBeUndefined();
    expect(cache.get('allowed')).toBe('yes');
  });

  it('never holds more than maxEntries, dropping expired entries before the oldest live one', () => {
    const time = clock();
    const cache = new ExpiringCache<string, number>({ maxEntries: 3, now: time.now });
    cache.set('old', 1, 60_000);
    cache.set('short', 2, 1_000);
    cache.set('new', 3, 60_000);
    time.advance(1_000);
    cache.set('fourth', 4, 60_000);
    expect(cache.size).toBe(3);
    expect(cache.get('old')).toBe(1);
    cache.set('fifth', 5, 60_000);
    expect(cache.size).toBe(3);
    expect(cache.get('old')).toBeUndefined();
    expect([cache.get('new'), cache.get('fourth'), cache.get('fifth')]).toEqual([3, 4, 5]);
  });

  it('counts a rewritten key as new, so it is not the first evicted', () => {
    const time = clock();
    const cache = new ExpiringCache<string, number>({ maxEntries: 2, now: time.now });
    cache.set('a', 1, 60_000);
    cache.set('b', 2, 60_000);
    cache.set('a', 10, 60_000);
    cache.set('c', 3, 60_000);
    expect(cache.get('a')).toBe(10);
    expect(cache.get('b')).toBeUndefined();
  });

  it('refuses a size that is not a positive integer', () => {
    expect(() => new ExpiringCache({ maxEntries: 0, now: () => new Date() })).toThrow(
      'maxEntries must be a positive integer, not 0',
    );
  });
});
