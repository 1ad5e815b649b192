import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ReconcileResult, WorkQueue, type WorkQueueOptions } from '../../src/kube/workqueue.ts';

const log = pino({ level: 'silent' });

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** Runs the microtasks the queue schedules (and any timers due now) under fake timers. */
const flush = () => vi.advanceTimersByTimeAsync(0);

function queue(
  reconcile: (key: string) => Promise<ReconcileResult>,
  options: Partial<WorkQueueOptions> = {},
): WorkQueue {
  // Under fake timers the queue's turns of the event loop would cost fake time: those are tested apart.
  return new WorkQueue({
    name: 'test',
    log,
    concurrency: 1,
    reconcile,
    now: () => Date.now(),
    checkpoint: async () => {},
    ...options,
  });
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('WorkQueue', () => {
  it('reconciles a key once however often it is added while waiting', async () => {
    const gate = deferred();
    const calls: string[] = [];
    const q = queue(async (key) => {
      calls.push(key);
      if (key === 'blocker') await gate.promise;
      return undefined;
    });
    q.add('blocker');
    for (let i = 0; i < 5; i++) q.add('a');
    expect(q.length).toBe(1);
    await flush();
    expect(calls).toEqual(['blocker']);

    gate.resolve();
    await flush();
    expect(calls).toEqual(['blocker', 'a']);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toEqual(['blocker', 'a']);
    expect(q.length).toBe(0);
  });

  it('reconciles a key once when it is added 5 times in one tick on an idle queue', async () => {
    // None of these adds can reach a reconcile in progress: the queue starts reconciles in a microtask.
    const calls: string[] = [];
    const q = queue(
      async (key) => {
        calls.push(key);
        return undefined;
      },
      { concurrency: 4 },
    );
    for (let i = 0; i < 5; i++) q.add('a');
    await flush();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toEqual(['a']);
  });

  it('does not reconcile on the caller stack', async () => {
    const calls: string[] = [];
    const q = queue(async (key) => {
      calls.push(key);
      return undefined;
    });
    q.add('a');
    expect(calls).toEqual([]);
    await flush();
    expect(calls).toEqual(['a']);
  });

  it('reconciles a key added during its reconcile again afterwards, never twice at once', async () => {
    const gates: Deferred[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const q = queue(
      async () => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        const gate = deferred();
        gates.push(gate);
        await gate.promise;
        inFlight -= 1;
        return undefined;
      },
      { concurrency: 4 },
    );
    q.add('a');
    await flush();
    expect(gates).toHaveLength(1);

    q.add('a');
    q.add('a');
    q.add('a');
    await flush();
    expect(gates).toHaveLength(1);
    expect(q.length).toBe(0);

    gates[0]?.resolve();
    await flush();
    expect(gates).toHaveLength(2);

    gates[1]?.resolve();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(gates).toHaveLength(2);
    expect(maxInFlight).toBe(1);
    expect(inFlight).toBe(0);
  });

  it('reconciles at most `concurrency` keys at once', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const done: string[] = [];
    const q = queue(
      async (key) => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await sleep(50);
        inFlight -= 1;
        done.push(key);
        return undefined;
      },
      { concurrency: 2 },
    );
    for (const key of ['a', 'b', 'c', 'd', 'e', 'f']) q.add(key);
    await flush();
    expect(inFlight).toBe(2);
    expect(q.length).toBe(4);

    await vi.advanceTimersByTimeAsync(50);
    expect(done).toEqual(['a', 'b']);
    expect(inFlight).toBe(2);

    await vi.advanceTimersByTimeAsync(100);
    expect(done).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(maxInFlight).toBe(2);
    expect(inFlight).toBe(0);
  });

  it('retries a failing key with exponential backoff and resets it after a success', async () => {
    const attempts: number[] = [];
    const outcomes = ['fail', 'fail', 'fail', 'ok', 'fail', 'ok'];
    const q = queue(
      async () => {
        attempts.push(Date.now());
        if (outcomes[attempts.length - 1] === 'fail') throw new Error('boom');
        return undefined;
      },
      { backoff: { initialMs: 100, maxMs: 60_000 } },
    );
    const start = Date.now();
    const at = () => attempts.map((time) => time - start);

    q.add('a');
    await flush();
    expect(at()).toEqual([0]);

    await vi.advanceTimersByTimeAsync(99);
    expect(at()).toEqual([0]);
    await vi.advanceTimersByTimeAsync(1);
    expect(at()).toEqual([0, 100]);

    await vi.advanceTimersByTimeAsync(199);
    expect(at()).toEqual([0, 100]);
    await vi.advanceTimersByTimeAsync(1);
    expect(at()).toEqual([0, 100, 300]);

    await vi.advanceTimersByTimeAsync(399);
    expect(at()).toEqual([0, 100, 300]);
    await vi.advanceTimersByTimeAsync(1);
    expect(at()).toEqual([0, 100, 300, 700]);

    // The success neither retries nor keeps the failure count.
    await vi.advanceTimersByTimeAsync(300);
    expect(at()).toEqual([0, 100, 300, 700]);
    q.add('a');
    await flush();
    expect(at()).toEqual([0, 100, 300, 700, 1000]);
    await vi.advanceTimersByTimeAsync(99);
    expect(at()).toEqual([0, 100, 300, 700, 1000]);
    await vi.advanceTimersByTimeAsync(1);
    expect(at()).toEqual([0, 100, 300, 700, 1000, 1100]);

    await vi.advanceTimersByTimeAsync(60_000);
    expect(attempts).toHaveLength(6);
  });

  it('caps the backoff at maxMs', async () => {
    const attempts: number[] = [];
    const start = Date.now();
    const q = queue(
      async () => {
        attempts.push(Date.now() - start);
        throw new Error('boom');
      },
      { backoff: { initialMs: 100, maxMs: 250 } },
    );
    q.add('a');
    await vi.advanceTimersByTimeAsync(1_050);
    expect(attempts).toEqual([0, 100, 300, 550, 800, 1050]);
    await q.shutdown();
  });

  it('backs off per key', async () => {
    const attempts: string[] = [];
    const start = Date.now();
    const q = queue(
      async (key) => {
        attempts.push(`${key}@${Date.now() - start}`);
        if (key === 'bad') throw new Error('boom');
        return undefined;
      },
      { concurrency: 2, backoff: { initialMs: 100, maxMs: 60_000 } },
    );
    q.add('bad');
    q.add('good');
    await vi.advanceTimersByTimeAsync(300);
    expect(attempts).toEqual(['bad@0', 'good@0', 'bad@100', 'bad@300']);
    await q.shutdown();
  });

  it('reconciles again after requeueAfterMs', async () => {
    const attempts: number[] = [];
    const start = Date.now();
    const q = queue(async () => {
      attempts.push(Date.now() - start);
      return attempts.length === 1 ? { requeueAfterMs: 500 } : undefined;
    });
    q.add('a');
    await flush();
    expect(attempts).toEqual([0]);
    await vi.advanceTimersByTimeAsync(499);
    expect(attempts).toEqual([0]);
    await vi.advanceTimersByTimeAsync(1);
    expect(attempts).toEqual([0, 500]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(attempts).toEqual([0, 500]);
  });

  it.each([
    ['later then earlier', [300, 100]],
    ['earlier then later', [100, 300]],
  ])('addAfter keeps the earliest of two delays (%s)', async (_, delays) => {
    const attempts: number[] = [];
    const start = Date.now();
    const q = queue(async () => {
      attempts.push(Date.now() - start);
      return undefined;
    });
    for (const delay of delays) q.addAfter('a', delay);
    await vi.advanceTimersByTimeAsync(99);
    expect(attempts).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(attempts).toEqual([100]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(attempts).toEqual([100]);
  });

  it('addAfter with no delay adds now', async () => {
    const calls: string[] = [];
    const q = queue(async (key) => {
      calls.push(key);
      return undefined;
    });
    q.addAfter('a', 0);
    await flush();
    expect(calls).toEqual(['a']);
  });

  it('add cancels a pending delayed add and runs now', async () => {
    const attempts: number[] = [];
    const start = Date.now();
    const q = queue(async () => {
      attempts.push(Date.now() - start);
      return undefined;
    });
    q.addAfter('a', 500);
    await vi.advanceTimersByTimeAsync(10);
    expect(attempts).toEqual([]);
    q.add('a');
    await flush();
    expect(attempts).toEqual([10]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(attempts).toEqual([10]);
  });

  it('shutdown waits for reconciles in flight, then ignores new keys', async () => {
    const gate = deferred();
    const calls: string[] = [];
    const q = queue(
      async (key) => {
        calls.push(key);
        if (key === 'a') await gate.promise;
        return { requeueAfterMs: 10 };
      },
      { concurrency: 1 },
    );
    q.add('a');
    q.add('waiting');
    q.addAfter('delayed', 100);
    await flush();
    expect(calls).toEqual(['a']);

    let stopped = false;
    const stopping = q.shutdown().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(stopped).toBe(false);
    expect(q.length).toBe(0);

    gate.resolve();
    await stopping;
    expect(stopped).toBe(true);

    q.add('b');
    q.addAfter('c', 10);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toEqual(['a']);
  });

  it('shutdown of an idle queue resolves at once', async () => {
    const q = queue(async () => undefined);
    await expect(q.shutdown()).resolves.toBe(true);
  });

  it('shutdown with a grace period stops waiting for a reconcile that outlasts it, and says so', async () => {
    const gate = deferred();
    const q = queue(async () => {
      await gate.promise;
      return undefined;
    });
    q.add('stuck');
    await flush();
    let drained: boolean | undefined;
    const stopping = q.shutdown(5_000).then((result) => {
      drained = result;
    });
    await vi.advanceTimersByTimeAsync(4_999);
    expect(drained).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    await stopping;
    expect(drained).toBe(false);
    gate.resolve();
  });

  it('shutdown with a grace period says the queue drained when reconciles end in time', async () => {
    const gate = deferred();
    const q = queue(async () => {
      await gate.promise;
      return undefined;
    });
    q.add('quick');
    await flush();
    const stopping = q.shutdown(5_000);
    await vi.advanceTimersByTimeAsync(1_000);
    gate.resolve();
    await expect(stopping).resolves.toBe(true);
  });

  it('while paused keeps every key added, delayed ones too, and reconciles them only once resumed', async () => {
    const calls: string[] = [];
    const q = queue(
      async (key) => {
        calls.push(key);
        return undefined;
      },
      { paused: true, concurrency: 2 },
    );
    q.add('a');
    q.add('a');
    q.addAfter('b', 1_000);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(calls).toEqual([]);
    expect(q.length).toBe(2);
    q.resume();
    await flush();
    expect(calls.sort()).toEqual(['a', 'b']);
  });

  it('shutdown of a paused queue drops what it kept and resolves at once', async () => {
    const calls: string[] = [];
    const q = queue(
      async (key) => {
        calls.push(key);
        return undefined;
      },
      { paused: true },
    );
    q.add('a');
    await expect(q.shutdown(1_000)).resolves.toBe(true);
    q.resume();
    await flush();
    expect(calls).toEqual([]);
  });

  it('token bucket lets a burst run at once and spaces the rest by the rate', async () => {
    const starts: string[] = [];
    const start = Date.now();
    const q = queue(
      async (key) => {
        starts.push(`${key}@${Date.now() - start}`);
        await sleep(1_000);
        return undefined;
      },
      { concurrency: 10, rate: { perSecond: 10, burst: 2 } },
    );
    for (const key of ['a', 'b', 'c', 'd', 'e']) q.add(key);
    await flush();
    expect(starts).toEqual(['a@0', 'b@0']);

    await vi.advanceTimersByTimeAsync(99);
    expect(starts).toEqual(['a@0', 'b@0']);
    await vi.advanceTimersByTimeAsync(1);
    expect(starts).toEqual(['a@0', 'b@0', 'c@100']);
    await vi.advanceTimersByTimeAsync(200);
    expect(starts).toEqual(['a@0', 'b@0', 'c@100', 'd@200', 'e@300']);

    // After a quiet second the bucket is full again.
    await vi.advanceTimersByTimeAsync(2_000);
    for (const key of ['f', 'g', 'h']) q.add(key);
    await flush();
    expect(starts.slice(5)).toEqual(['f@2300', 'g@2300']);
    await vi.advanceTimersByTimeAsync(100);
    expect(starts.slice(5)).toEqual(['f@2300', 'g@2300', 'h@2400']);
    const stopping = q.shutdown();
    await vi.advanceTimersByTimeAsync(1_000);
    await stopping;
  });
});

describe('WorkQueue fairness across namespaces', () => {
  it('serves namespaces round-robin, each in the order its keys came', async () => {
    const gate = deferred();
    const calls: string[] = [];
    const q = queue(async (key) => {
      if (key === 'blocker') await gate.promise;
      else calls.push(key);
      return undefined;
    });
    q.add('blocker');
    await flush();
    for (let i = 0; i < 3; i++) q.add(`hostile/e${i}`);
    q.add('victim/v0');
    q.add('victim/v1');
    q.add('other/o0');
    gate.resolve();
    await flush();
    expect(calls).toEqual(['hostile/e0', 'victim/v0', 'other/o0', 'hostile/e1', 'victim/v1', 'hostile/e2']);
  });

  /**
   * A churning namespace: a thousand keys whose one-second reconciles ask to run again 10 ms later (a
   * 10-second TTL that renews at once, on a busy operator), while another namespace adds one key every
   * half second. Times are the fake clock's: what is measured is how the queue orders work.
   */
  async function victimDelays(options: Partial<WorkQueueOptions>): Promise<number[]> {
    const addedAt = new Map<string, number>();
    const delays: number[] = [];
    const q = queue(
      async (key) => {
        const added = addedAt.get(key);
        if (added !== undefined) {
          delays.push(Date.now() - added);
          return undefined;
        }
        await sleep(1_000);
        return { requeueAfterMs: 10 };
      },
      { concurrency: 8, ...options },
    );
    for (let i = 0; i < 1_000; i++) q.add(`hostile/e${i}`);
    for (let i = 0; i < 20; i++) {
      await vi.advanceTimersByTimeAsync(500);
      addedAt.set(`victim/v${i}`, Date.now());
      q.add(`victim/v${i}`);
    }
    await vi.advanceTimersByTimeAsync(2_000);
    const stopping = q.shutdown();
    await vi.advanceTimersByTimeAsync(1_000);
    await stopping;
    return delays;
  }

  it("starts another namespace's key after at most one busy reconcile, however many keys a namespace queues", async () => {
    const delays = await victimDelays({});
    expect(delays).toHaveLength(20);
    // In one FIFO, each victim key would wait behind the thousand hostile keys: 125 s at 8 a second.
    expect(Math.max(...delays)).toBeLessThanOrEqual(1_000);
  });

  it('with workers reserved for new flows, starts the key of a namespace with nothing running at once', async () => {
    const delays = await victimDelays({ reservedForNewFlows: 2 });
    expect(delays).toEqual(Array.from({ length: 20 }, () => 0));
  });

  it('lets one namespace use every unreserved worker while alone, never the reserved ones', async () => {
    const gates = new Map<string, Deferred>();
    const running = new Set<string>();
    const q = queue(
      async (key) => {
        running.add(key);
        const gate = deferred();
        gates.set(key, gate);
        await gate.promise;
        running.delete(key);
        return undefined;
      },
      { concurrency: 4, reservedForNewFlows: 1 },
    );
    for (let i = 0; i < 10; i++) q.add(`busy/e${i}`);
    await flush();
    expect([...running]).toEqual(['busy/e0', 'busy/e1', 'busy/e2']);
    q.add('new/n0');
    q.add('new/n1');
    await flush();
    // The new namespace takes the reserved worker for its first key; its second waits like the rest.
    expect([...running]).toEqual(['busy/e0', 'busy/e1', 'busy/e2', 'new/n0']);
    gates.get('busy/e0')?.resolve();
    await flush();
    expect(running.has('new/n1') || running.has('busy/e3')).toBe(false);
    gates.get('new/n0')?.resolve();
    await flush();
    // The busy namespace refills its unreserved worker; the new one, with nothing running, the reserve.
    expect([...running]).toEqual(['busy/e1', 'busy/e2', 'busy/e3', 'new/n1']);
    const stopping = q.shutdown();
    for (const gate of gates.values()) gate.resolve();
    await flush();
    await stopping;
  });
});

describe('WorkQueue and the event loop', () => {
  it('begins no key that was waiting for its turn of the event loop when the queue shut down', async () => {
    vi.useFakeTimers();
    const turn = deferred();
    const calls: string[] = [];
    const q = queue(
      async (key) => {
        calls.push(key);
        return undefined;
      },
      { checkpoint: () => turn.promise },
    );
    q.add('a');
    await flush();
    const stopping = q.shutdown();
    turn.resolve();
    await flush();
    await stopping;
    expect(calls).toEqual([]);
  });

  beforeEach(() => {
    vi.useRealTimers();
  });

  it('lets timers run between reconciles that send no request, however many keys wait', async () => {
    const reconciled: string[] = [];
    const busy = (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until) {}
    };
    const q = new WorkQueue({
      name: 'test',
      log,
      concurrency: 4,
      // A reconcile that reads only caches: no await on I/O anywhere.
      reconcile: async (key) => {
        busy(1);
        reconciled.push(key);
        return undefined;
      },
    });
    let doneWhenTimerRan = -1;
    setTimeout(() => {
      doneWhenTimerRan = reconciled.length;
    }, 0);
    for (let i = 0; i < 200; i++) q.add(`ns/e${i}`);
    const deadline = performance.now() + 5_000;
    while (reconciled.length < 200 && performance.now() < deadline) await sleep(5);
    expect(reconciled).toHaveLength(200);
    // The timer ran long before the 200 ms of reconciles were through: after about one 5 ms slice.
    expect(doneWhenTimerRan).toBeGreaterThanOrEqual(0);
    expect(doneWhenTimerRan).toBeLessThan(50);
    await q.shutdown();
  });
});
