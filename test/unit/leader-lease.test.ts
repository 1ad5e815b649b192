import { describe, expect, it } from 'vitest';
import {
  type LeaseObservation,
  microTime,
  planLeaseStep,
  recordChanged,
  releasedRecord,
} from '../../src/core/leader/lease.ts';

const timing = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
const t0 = new Date('2026-11-23T10:00:00.000Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

const heldBy = (holder: string, observedAtSeconds = 0, leaseDurationSeconds = 15): LeaseObservation => ({
  record: {
    holderIdentity: holder,
    leaseDurationSeconds,
    acquireTime: microTime(t0),
    renewTime: microTime(t0),
    leaseTransitions: 3,
  },
  observedAtMs: at(observedAtSeconds).getTime(),
});

describe('planLeaseStep', () => {
  it('creates the Lease when there is none, holding it from now', () => {
    expect(planLeaseStep('a', undefined, timing, t0)).toEqual({
      action: 'create',
      record: {
        holderIdentity: 'a',
        leaseDurationSeconds: 15,
        acquireTime: '2026-11-23T10:00:00.000000Z',
        renewTime: '2026-11-23T10:00:00.000000Z',
        leaseTransitions: 0,
      },
    });
  });

  it('renews its own Lease, keeping acquireTime and transitions', () => {
    const step = planLeaseStep('a', heldBy('a'), timing, at(2));
    expect(step).toEqual({
      action: 'update',
      record: { ...heldBy('a').record, renewTime: microTime(at(2)) },
    });
  });

  it("waits while another holder's term runs, counted from when the record was last seen to change", () => {
    expect(planLeaseStep('b', heldBy('a', 5), timing, at(19.999))).toEqual({ action: 'wait', holder: 'a' });
  });

  it("takes over once the holder's term has passed without a change, counting a transition", () => {
    const step = planLeaseStep('b', heldBy('a', 5), timing, at(20));
    expect(step).toEqual({
      action: 'update',
      record: {
        holderIdentity: 'b',
        leaseDurationSeconds: 15,
        acquireTime: microTime(at(20)),
        renewTime: microTime(at(20)),
        leaseTransitions: 4,
      },
    });
  });

  it("honours the holder's own, longer lease duration", () => {
    expect(planLeaseStep('b', heldBy('a', 0, 60), timing, at(30)).action).toBe('wait');
    expect(planLeaseStep('b', heldBy('a', 0, 60), timing, at(60)).action).toBe('update');
  });

  it('takes a released Lease at once', () => {
    const released = { record: releasedRecord(heldBy('a').record, t0), observedAtMs: t0.getTime() };
    expect(planLeaseStep('b', released, timing, t0)).toMatchObject({
      action: 'update',
      record: { holderIdentity: 'b' },
    });
  });
});

describe('releasedRecord', () => {
  it('leaves no holder and a one-second term', () => {
    expect(releasedRecord(heldBy('a').record, at(1))).toMatchObject({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      renewTime: microTime(at(1)),
      leaseTransitions: 3,
    });
  });
});

describe('recordChanged', () => {
  it('sees a renewal as a change and an identical record as none', () => {
    const { record } = heldBy('a');
    expect(recordChanged(record, { ...record })).toBe(false);
    expect(recordChanged(record, { ...record, renewTime: microTime(at(2)) })).toBe(true);
    expect(recordChanged(undefined, record)).toBe(true);
  });
});

describe('microTime', () => {
  it('writes six fractional digits, as the apiserver parses MicroTime', () => {
    expect(microTime(new Date('2026-11-23T10:00:00.123Z'))).toBe('2026-11-23T10:00:00.123000Z');
  });
});
