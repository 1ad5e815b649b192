import { describe, expect, it } from 'vitest';
import type { Condition } from '../../src/api/meta.ts';
import { setCondition } from '../../src/core/conditions.ts';

const T0 = '2025-01-01T00:00:00.000Z';
const T1 = new Date('2025-01-02T03:04:05.678Z');

const ready: Condition = {
  type: 'Ready',
  status: 'False',
  reason: 'Pending',
  message: 'waiting for the CA',
  lastTransitionTime: T0,
  observedGeneration: 1,
};
const degraded: Condition = {
  type: 'Degraded',
  status: 'False',
  reason: 'AsExpected',
  message: '',
  lastTransitionTime: T0,
  observedGeneration: 1,
};

describe('setCondition', () => {
  it('adds a condition to an absent list, stamped with now', () => {
    expect(
      setCondition(undefined, { type: 'Ready', status: 'True', reason: 'Issued', message: 'ok' }, T1, 4),
    ).toEqual([
      {
        type: 'Ready',
        status: 'True',
        reason: 'Issued',
        message: 'ok',
        lastTransitionTime: '2025-01-02T03:04:05.678Z',
        observedGeneration: 4,
      },
    ]);
  });

  it('keeps lastTransitionTime when the status is unchanged, even if reason and message change', () => {
    const [next] = setCondition(
      [ready],
      { type: 'Ready', status: 'False', reason: 'UpstreamMissing', message: 'no upstream secret' },
      T1,
      2,
    );
    expect(next).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'UpstreamMissing',
      message: 'no upstream secret',
      lastTransitionTime: T0,
      observedGeneration: 2,
    });
  });

  it('changes lastTransitionTime when the status changes', () => {
    const [next] = setCondition(
      [ready],
      { type: 'Ready', status: 'True', reason: 'Pending', message: 'waiting for the CA' },
      T1,
      1,
    );
    expect(next?.lastTransitionTime).toBe(T1.toISOString());
    expect(next?.status).toBe('True');
  });

  it('leaves the other conditions untouched', () => {
    const conditions = [ready, degraded];
    const next = setCondition(
      conditions,
      { type: 'Ready', status: 'True', reason: 'Issued', message: 'ok' },
      T1,
      2,
    );
    expect(next).toHaveLength(2);
    expect(next.find((condition) => condition.type === 'Degraded')).toEqual(degraded);
    expect(next.find((condition) => condition.type === 'Ready')?.status).toBe('True');
    // The input is not mutated.
    expect(conditions).toEqual([ready, degraded]);
    expect(ready.status).toBe('False');
  });

  it('adds a new type next to the existing ones', () => {
    const next = setCondition(
      [ready],
      { type: 'Degraded', status: 'True', reason: 'Expiring', message: 'soon' },
      T1,
      1,
    );
    expect(next.map((condition) => condition.type).sort()).toEqual(['Degraded', 'Ready']);
    expect(next.find((condition) => condition.type === 'Ready')).toEqual(ready);
    expect(next.find((condition) => condition.type === 'Degraded')?.lastTransitionTime).toBe(
      T1.toISOString(),
    );
  });

  it('sets observedGeneration, and leaves it out when undefined', () => {
    const [withGeneration] = setCondition(
      [],
      { type: 'Ready', status: 'True', reason: 'Issued', message: 'ok' },
      T1,
      7,
    );
    expect(withGeneration?.observedGeneration).toBe(7);
    const [withoutGeneration] = setCondition(
      [],
      { type: 'Ready', status: 'True', reason: 'Issued', message: 'ok' },
      T1,
      undefined,
    );
    expect(withoutGeneration).toBeDefined();
    expect(withoutGeneration !== undefined && 'observedGeneration' in withoutGeneration).toBe(false);
  });

  it('does not carry an old observedGeneration over when the new one is undefined', () => {
    const [next] = setCondition(
      [ready],
      { type: 'Ready', status: 'False', reason: 'Pending', message: 'waiting for the CA' },
      T1,
      undefined,
    );
    expect(next?.observedGeneration).toBeUndefined();
  });
});
