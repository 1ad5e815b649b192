import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { LeaseRecord } from '../../src/core/leader/lease.ts';
import { KubeApiError } from '../../src/kube/errors.ts';
import { LeaderElector } from '../../src/kube/leader-election.ts';
import type { RequestOptions } from '../../src/kube/rest.ts';

const writeSchema = z.object({
  metadata: z.object({ resourceVersion: z.string().optional() }),
  spec: z.object({
    holderIdentity: z.string().optional(),
    leaseDurationSeconds: z.number().optional(),
    acquireTime: z.string().optional(),
    renewTime: z.string().optional(),
    leaseTransitions: z.number().optional(),
  }),
});

/** Short terms, real timers: the elector's own deadlines are what is under test. */
const timing = { leaseDurationMs: 400, renewDeadlineMs: 250, retryPeriodMs: 50 };

/** One Lease in memory behind the elector's two requests; `hang` makes every request wait until aborted. */
class LeaseStore {
  record: LeaseRecord | undefined;
  version = 0;
  hang = false;
  writes: LeaseRecord[] = [];

  async request(method: string, _path: string, options: RequestOptions = {}): Promise<unknown> {
    if (this.hang) {
      await new Promise((_resolve, reject) =>
        options.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true }),
      );
    }
    if (method === 'GET') {
      if (!this.record) throw new KubeApiError(404, 'NotFound', 'not found');
      return this.#lease();
    }
    const body = writeSchema.parse(options.body);
    if (method === 'PUT' && body.metadata.resourceVersion !== String(this.version))
      throw new KubeApiError(409, 'Conflict', 'conflict');
    this.record = body.spec;
    this.version += 1;
    this.writes.push(body.spec);
    return this.#lease();
  }

  #lease() {
    return { metadata: { resourceVersion: String(this.version) }, spec: this.record };
  }
}

function elector(store: LeaseStore, identity = 'a') {
  const events: string[] = [];
  const created = new LeaderElector({
    client: store,
    namespace: 'trustline-system',
    name: 'trustline-leader',
    identity,
    timing,
    log: pino({ level: 'silent' }),
    onStartedLeading: () => events.push('started'),
    onStoppedLeading: () => events.push('stopped'),
  });
  return { elector: created, events };
}

const until = async (what: string, holds: () => boolean, timeoutMs = 2_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!holds()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
};

describe('LeaderElector', () => {
  it('creates the Lease and leads, renewing it every retry period', async () => {
    const store = new LeaseStore();
    const { elector: a, events } = elector(store);
    a.start();
    await until('leadership', () => events.includes('started'));
    await until('two renewals', () => store.writes.length >= 3);
    expect(store.record?.holderIdentity).toBe('a');
    await a.release();
  });

  it('stops leading within the renew deadline while its requests hang', async () => {
    const store = new LeaseStore();
    const { elector: a, events } = elector(store);
    a.start();
    await until('leadership', () => events.includes('started'));
    store.hang = true;
    const hungAt = Date.now();
    await until('lost leadership', () => events.includes('stopped'));
    // The deadline counts from the start of the last renewal that succeeded, before the hang began.
    expect(Date.now() - hungAt).toBeLessThan(timing.renewDeadlineMs + timing.retryPeriodMs);
    expect(Date.now() - hungAt).toBeLessThan(timing.leaseDurationMs);
  });

  it('stops leading at once when another replica holds the Lease', async () => {
    const store = new LeaseStore();
    const { elector: a, events } = elector(store);
    a.start();
    await until('leadership', () => events.includes('started'));
    store.record = { ...store.record, holderIdentity: 'b' };
    store.version += 1;
    await until('lost leadership', () => events.includes('stopped'), timing.retryPeriodMs * 4);
  });

  it("waits out another holder's term, then takes over", async () => {
    const store = new LeaseStore();
    store.record = { holderIdentity: 'b', leaseDurationSeconds: 1, renewTime: 'r0' };
    store.version = 1;
    const { elector: a, events } = elector(store);
    a.start();
    await sleep(600);
    expect(events).toEqual([]);
    await until('takeover', () => events.includes('started'), 1_500);
    expect(store.record?.holderIdentity).toBe('a');
    await a.release();
  });

  it('releases the Lease it holds on release(), and a standby releases nothing', async () => {
    const store = new LeaseStore();
    const { elector: a, events } = elector(store);
    a.start();
    await until('leadership', () => events.includes('started'));
    const { elector: b, events: standby } = elector(store, 'b');
    b.start();
    await sleep(100);
    await b.release();
    expect(store.record?.holderIdentity).toBe('a');
    await a.release();
    expect(store.record).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    expect(standby).toEqual([]);
    expect(events).toEqual(['started']);
  });
});
