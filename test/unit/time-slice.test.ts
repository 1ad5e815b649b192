import { describe, expect, it } from 'vitest';
import { inSlices, timeSlicer } from '../../src/core/time-slice.ts';

/** A clock the test moves, and a pause that only counts. */
function fakeTime() {
  const time = { now: 0, pauses: [] as number[] };
  return {
    time,
    options: {
      sliceMs: 5,
      now: () => time.now,
      pause: async () => {
        time.pauses.push(time.now);
      },
    },
  };
}

describe('timeSlicer', () => {
  it('pauses only once a slice has run its length, and starts a new slice after the pause', async () => {
    const { time, options } = fakeTime();
    const checkpoint = timeSlicer(options);
    time.now = 4.9;
    await checkpoint();
    expect(time.pauses).toEqual([]);
    time.now = 5;
    await checkpoint();
    expect(time.pauses).toEqual([5]);
    time.now = 9;
    await checkpoint();
    expect(time.pauses).toEqual([5]);
    time.now = 10;
    await checkpoint();
    expect(time.pauses).toEqual([5, 10]);
  });

  it('lets the event loop run timers by default once the slice is spent', async () => {
    let timerRan = false;
    setTimeout(() => {
      timerRan = true;
    }, 0);
    const checkpoint = timeSlicer({ sliceMs: 0 });
    const deadline = performance.now() + 1_000;
    while (!timerRan && performance.now() < deadline) await checkpoint();
    expect(timerRan).toBe(true);
  });
});

describe('inSlices', () => {
  it('gives every item in order, pausing between items whenever the clock has passed a slice', async () => {
    const { time, options } = fakeTime();
    const seen: number[] = [];
    // Each item costs 2 ms: a pause falls before every third item.
    for await (const item of inSlices([1, 2, 3, 4, 5, 6, 7], options)) {
      seen.push(item);
      time.now += 2;
    }
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(time.pauses).toEqual([6, 12]);
  });

  it('never pauses a loop that stays within one slice', async () => {
    const { time, options } = fakeTime();
    const seen: string[] = [];
    for await (const item of inSlices(['a', 'b', 'c'], options)) seen.push(item);
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(time.pauses).toEqual([]);
  });
});

describe('timeSlicer shared by concurrent work', () => {
  it('gives each waiter that reached a spent slice a turn of its own', async () => {
    let now = 0;
    const turns: (() => void)[] = [];
    const checkpoint = timeSlicer({
      sliceMs: 5,
      now: () => now,
      pause: () => new Promise<void>((resolve) => turns.push(resolve)),
    });
    now = 5;
    const ran: string[] = [];
    // Three reconciles of 3 ms each reach the checkpoint once the slice is spent.
    const work = ['a', 'b', 'c'].map(async (name) => {
      await checkpoint();
      ran.push(name);
      now += 3;
    });
    const turn = async () => {
      await new Promise((resolve) => setImmediate(resolve));
      expect(turns).toHaveLength(1);
      turns.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    };
    await turn();
    expect(ran).toEqual(['a']);
    await turn();
    expect(ran).toEqual(['a', 'b']);
    await turn();
    await Promise.all(work);
    expect(ran).toEqual(['a', 'b', 'c']);
    // The last turn began a new slice: work that comes now goes on at once.
    await checkpoint();
    expect(turns).toEqual([]);
  });
});
