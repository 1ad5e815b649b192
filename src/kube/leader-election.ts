import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { z } from 'zod';
import {
  type LeaseObservation,
  type LeaseRecord,
  type LeaseTiming,
  planLeaseStep,
  recordChanged,
  releasedRecord,
} from '../core/leader/lease.ts';
import { isNotFound } from './errors.ts';
import { collectionPath, leaseResource, objectPath } from './resources.ts';
import type { RestClient } from './rest.ts';

const leaseSchema = z.object({
  metadata: z.object({ resourceVersion: z.string() }),
  spec: z
    .object({
      holderIdentity: z.string().optional(),
      leaseDurationSeconds: z.number().int().optional(),
      acquireTime: z.string().optional(),
      renewTime: z.string().optional(),
      leaseTransitions: z.number().int().optional(),
    })
    .default({}),
});

export interface LeaderElectionOptions {
  client: RestClient;
  namespace: string;
  name: string;
  identity: string;
  timing: LeaseTiming;
  log: Logger;
  now?: () => Date;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

type Attempt = 'holding' | 'waiting' | 'taken' | 'failed';

/** client-go's jitter: candidates spread their tries so they do not all hit the Lease at once. */
const JITTER = 1.2;

/**
 * Campaigns for the Lease, then renews it every retry period. Leadership ends when a renewal has not
 * succeeded for the renew deadline or another replica holds the Lease; it never comes back, since a
 * former leader's caches and queues may be behind: the process restarts and campaigns anew.
 */
export class LeaderElector {
  readonly #options: LeaderElectionOptions;
  readonly #now: () => Date;
  readonly #stop = new AbortController();
  #observation: (LeaseObservation & { resourceVersion: string }) | undefined;
  #leading = false;
  #running: Promise<void> | undefined;

  constructor(options: LeaderElectionOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
  }

  get leading(): boolean {
    return this.#leading;
  }

  start(): void {
    this.#running ??= this.#run().catch((error: unknown) =>
      this.#options.log.error({ err: error }, 'leader election stopped unexpectedly'),
    );
  }

  /** Stops campaigning and, when leading, releases the Lease so a standby takes over at its next try. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
    if (!this.#leading || !this.#observation) return;
    this.#leading = false;
    await this.#write('update', releasedRecord(this.#observation.record, this.#now())).catch(
      (error: unknown) =>
        this.#options.log.warn(
          { err: error },
          'could not release the leader Lease; a standby takes over when it expires',
        ),
    );
  }

  async #run(): Promise<void> {
    const { timing, log, identity, namespace, name } = this.#options;
    log.info({ identity, lease: `${namespace}/${name}` }, 'campaigning for leadership');
    while ((await this.#attempt()) !== 'holding') {
      if (!(await this.#pause(timing.retryPeriodMs * (1 + Math.random() * (JITTER - 1))))) return;
    }
    this.#leading = true;
    // Stopped while the Lease was being taken: stop() releases it, and nothing starts.
    if (this.#stop.signal.aborted) return;
    log.info({ identity }, 'became the leader');
    this.#options.onStartedLeading();
    let renewedAt = this.#now().getTime();
    while (await this.#pause(timing.retryPeriodMs)) {
      const attempt = await this.#attempt();
      if (attempt === 'holding') renewedAt = this.#now().getTime();
      else if (attempt === 'taken' || this.#now().getTime() - renewedAt >= timing.renewDeadlineMs) {
        this.#leading = false;
        log.error({ identity, attempt }, 'lost leadership');
        this.#options.onStoppedLeading();
        return;
      }
    }
  }

  /** Sleeps unless stopped; false once stopped. */
  async #pause(ms: number): Promise<boolean> {
    await sleep(ms, undefined, { signal: this.#stop.signal }).catch(() => undefined);
    return !this.#stop.signal.aborted;
  }

  async #attempt(): Promise<Attempt> {
    const { identity, timing, log } = this.#options;
    try {
      await this.#observe();
      const step = planLeaseStep(identity, this.#observation, timing, this.#now());
      if (step.action === 'wait') return this.#leading ? 'taken' : 'waiting';
      await this.#write(step.action, step.record);
      return 'holding';
    } catch (error) {
      // A conflict means another replica wrote first; anything else is retried until the deadline.
      log.debug({ err: error }, 'leader Lease attempt failed');
      return 'failed';
    }
  }

  async #observe(): Promise<void> {
    const { client, namespace, name, timing } = this.#options;
    const found = await client
      .request('GET', objectPath(leaseResource, name, namespace), {
        signal: AbortSignal.timeout(timing.renewDeadlineMs),
      })
      .catch((error: unknown) => {
        if (isNotFound(error)) return undefined;
        throw error;
      });
    if (found === undefined) {
      this.#observation = undefined;
      return;
    }
    const lease = leaseSchema.parse(found);
    const previous = this.#observation?.record;
    this.#observation = {
      record: lease.spec,
      resourceVersion: lease.metadata.resourceVersion,
      observedAtMs: recordChanged(previous, lease.spec)
        ? this.#now().getTime()
        : (this.#observation?.observedAtMs ?? this.#now().getTime()),
    };
  }

  /** Writes the record; the resourceVersion makes a concurrent writer's update fail with a conflict. */
  async #write(action: 'create' | 'update', record: LeaseRecord): Promise<void> {
    const { client, namespace, name, timing } = this.#options;
    const metadata =
      action === 'create'
        ? { name, namespace }
        : { name, namespace, resourceVersion: this.#observation?.resourceVersion };
    const written = leaseSchema.parse(
      await client.request(
        action === 'create' ? 'POST' : 'PUT',
        action === 'create'
          ? collectionPath(leaseResource, namespace)
          : objectPath(leaseResource, name, namespace),
        {
          body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec: record },
          signal: AbortSignal.timeout(timing.renewDeadlineMs),
        },
      ),
    );
    this.#observation = {
      record: written.spec,
      resourceVersion: written.metadata.resourceVersion,
      observedAtMs: this.#now().getTime(),
    };
  }
}
