import { describe, expect, it } from 'vitest';
import { RoutineEventGate } from '../../src/core/event-gate.ts';

const MINUTE = 60_000;
const at = (ms: number) => new Date(Date.UTC(2030, 0, 1) + ms);

describe('RoutineEventGate', () => {
  it('lets the first event through, counts the rest of the window, and reports them with the next', () => {
    const gate = new RoutineEventGate(10 * MINUTE);
    expect(gate.admit('entry-a/Renewed', at(0))).toEqual({ emit: true, count: 1, heldSince: undefined });
    expect(gate.admit('entry-a/Renewed', at(7_000))).toEqual({ emit: false });
    expect(gate.admit('entry-a/Renewed', at(14_000))).toEqual({ emit: false });
    expect(gate.admit('entry-a/Renewed', at(10 * MINUTE))).toEqual({
      emit: true,
      count: 3,
      heldSince: at(7_000),
    });
    expect(gate.admit('entry-a/Renewed', at(10 * MINUTE + 1))).toEqual({ emit: false });
  });

  it('keeps a window per key: one object renewing often never holds back another', () => {
    const gate = new RoutineEventGate(10 * MINUTE);
    gate.admit('entry-a/Renewed', at(0));
    gate.admit('entry-a/Renewed', at(1_000));
    expect(gate.admit('entry-b/Renewed', at(2_000))).toEqual({ emit: true, count: 1, heldSince: undefined });
    expect(gate.admit('entry-a/Rotated', at(3_000))).toEqual({ emit: true, count: 1, heldSince: undefined });
  });

  it('when it holds many keys and prunes the expired ones, still gates those within their window', () => {
    const gate = new RoutineEventGate(MINUTE);
    for (let i = 0; i < 10_000; i++) gate.admit(`old-${i}`, at(0));
    gate.admit('recent', at(MINUTE - 1));
    gate.admit('newcomer', at(MINUTE + 1));
    expect(gate.admit('old-0', at(MINUTE + 2))).toEqual({ emit: true, count: 1, heldSince: undefined });
    expect(gate.admit('recent', at(MINUTE + 3))).toEqual({ emit: false });
  });
});
