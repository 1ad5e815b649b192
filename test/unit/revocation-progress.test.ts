import { describe, expect, it } from 'vitest';
import { progress } from '../../src/core/revocation/progress.ts';

const TAINTED_AT = '2030-06-01T12:00:00.000Z';
const at = (offsetMs: number) => new Date(Date.parse(TAINTED_AT) + offsetMs);
const record = (reason: 'KeyCompromise' | 'PolicyChange', reissuedAt?: string) => ({
  reason,
  taintedIds: ['aa01'],
  taintedAt: TAINTED_AT,
  reissueTimeoutMs: 60_000,
  ...(reissuedAt === undefined ? {} : { reissuedAt }),
});
const pod = { signerId: 'aa01', beginRefreshAt: at(30_000), notAfter: at(3_600_000) };
const observation = {
  svidsBySigner: new Map([['aa01', 2]]),
  unwritableBySigner: new Map([['aa01', 1]]),
  podCertificates: [pod],
};

describe('progress', () => {
  it('waits for re-issuable, unwritable and pod SVIDs of a reason that waits for tenants', () => {
    expect(progress(record('PolicyChange'), observation, at(0))).toEqual({
      finished: false,
      remaining: 4,
      abandoned: 4,
      outstandingPodCertificates: 1,
      waitingPods: [pod],
      waitsForTenants: true,
    });
  });

  it('lets a leaked key wait only for the Secrets Trustline can write', () => {
    const seen = progress(record('KeyCompromise'), observation, at(0));
    expect(seen).toMatchObject({
      finished: false,
      remaining: 2,
      abandoned: 3,
      outstandingPodCertificates: 1,
    });
    expect(seen.waitingPods).toEqual([]);
  });

  it('is finished at the re-issue deadline whatever is left, and when nothing is left', () => {
    expect(progress(record('PolicyChange'), observation, at(59_999)).finished).toBe(false);
    expect(progress(record('PolicyChange'), observation, at(60_000))).toMatchObject({
      finished: true,
      abandoned: 3,
    });
    const none = { svidsBySigner: new Map<string, number>() };
    expect(progress(record('PolicyChange'), none, at(0))).toMatchObject({ finished: true, remaining: 0 });
  });

  it('counts nothing once the journal records re-issuing as finished', () => {
    expect(progress(record('PolicyChange', TAINTED_AT), observation, at(0))).toMatchObject({
      finished: true,
      remaining: 0,
      abandoned: 0,
    });
  });
});
