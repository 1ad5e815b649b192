import { describe, expect, it } from 'vitest';
import { isSafeToRetry, transientBackoffMs } from '../../src/core/transient-retry.ts';

describe('whether a request that failed transiently may be sent again', () => {
  it('always, when it never left: not even a POST reached the apiserver', () => {
    for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'])
      expect(isSafeToRetry(method, undefined, { kind: 'unsent' })).toBe(true);
  });

  it.each([
    ['GET', undefined, true],
    ['PATCH', 'application/apply-patch+yaml', true],
    ['PATCH', 'application/merge-patch+json', true],
    ['PATCH', 'application/json-patch+json', false],
    ['POST', 'application/json', false],
    ['PUT', 'application/json', false],
    ['DELETE', undefined, false],
  ])('%s %s after a broken connection or a 503: %s', (method, contentType, safe) => {
    expect(isSafeToRetry(method, contentType, { kind: 'broken' })).toBe(safe);
    expect(isSafeToRetry(method, contentType, { kind: 'status', status: 503 })).toBe(safe);
  });

  it('after a timeout only for reads: a slow write is left to its caller', () => {
    expect(isSafeToRetry('GET', undefined, { kind: 'timeout' })).toBe(true);
    expect(isSafeToRetry('PATCH', 'application/apply-patch+yaml', { kind: 'timeout' })).toBe(false);
  });
});

describe('the backoff between transient failures', () => {
  it('doubles from 200 ms to at most 5 s', () => {
    expect([0, 1, 2, 3, 10].map((attempt) => transientBackoffMs(attempt, 0.999_999))).toEqual([
      200, 400, 800, 1_600, 5_000,
    ]);
  });

  it("is never shorter than the wait a 5xx's Retry-After asked for, and no longer when it asked less", () => {
    expect(transientBackoffMs(0, 0.5, { kind: 'status', status: 503, retryAfterMs: 3_000 })).toBe(3_000);
    expect(transientBackoffMs(3, 0.999_999, { kind: 'status', status: 503, retryAfterMs: 100 })).toBe(1_600);
    expect(transientBackoffMs(0, 0.999_999, { kind: 'broken' })).toBe(200);
  });

  it('is jittered down to half, so clients that failed together come back apart', () => {
    expect(transientBackoffMs(2, 0)).toBe(400);
    expect(transientBackoffMs(2, 0.5)).toBe(600);
  });
});
