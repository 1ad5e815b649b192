import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { z } from 'zod';
import {
  LEASE_JITTER,
  type LeaseObservation,
  type LeaseRecord,
  type LeaseTiming,
  planLeaseStep,
  recordChanged,
  releasedRecord,
} from '../core/leader/lease.ts';
import { isConflict, isNotFound } from './errors.ts';
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
  client: Pick<RestClient, 'request'>;
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

/**
 * Campaigns for the Lease, then renews it every retry period. Leadership ends when no renewal has
 * succeeded within the renew deadline (measured from when the last successful attempt began, and
 * enforced while a request hangs) or another replica holds the Lease; it never comes back, since a
 * former leader's caches and queues may be behind: the process restarts and campaigns anew.
 */
export class LeaderElector {
  readonly #options: LeaderElectionOptions;
  readonly #now: () => Date;
  readonly #stop = new AbortController();
  #observation: (LeaseObservation & { resourceVersion: string }) | undefined;
  #leading = false;
  #running: Promise<void> | undefined;
  #lastError: string | undefined;

  constructor(options: LeaderElectionOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
  }

  start(): void {
    this.#running ??= this.#run().catch((error: unknown) => {
      this.#options.log.error({ err: error }, 'leader election stopped unexpectedly');
      // A leader that no longer renews must stop writing before a standby's term begins.
      if (this.#leading) this.#lose('failed');
    });
  }

  /** Stops campaigning: from here on this replica never starts leading. */
  async abort(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  /** Once this replica has stopped writing: gives the Lease up, so a standby takes over at its next try. */
  async release(): Promise<void> {
    await this.abort();
    if (!this.#leading || !this.#observation) return;
    this.#leading = false;
    await this.#write(
      'update',
      releasedRecord(this.#observation.record, this.#now()),
      AbortSignal.timeout(this.#options.timing.retryPeriodMs),
    ).catch((error: unknown) =>
      this.#options.log.warn(
        { err: error },
        'could not release the leader Lease; a standby takes over when it expires',
      ),
    );
  }

  async #run(): Promise<void> {
    const { timing, log, identity, namespace, name } = this.#options;
    log.info({ identity, lease: `${namespace}/${name}` }, 'campaigning for leadership');
    while ((await this.#attempt(timing.renewDeadlineMs)) !== 'holding') {
      if (!(await this.#pause(timing.retryPeriodMs * (1 + Math.random() * (LEASE_JITTER - 1))))) return;
    }
    this.#leading = true;
    // Stopped while the Lease was being taken: release() gives it back, and nothing starts.
    if (this.#stop.signal.aborted) return;
    log.info({ identity }, 'became the leader');
    this.#options.onStartedLeading();
    let renewedAt = this.#now().getTime();
    while (await this.#pause(timing.retryPeriodMs)) {
      const startedAt = this.#now().getTime();
      const remainingMs = renewedAt + timing.renewDeadlineMs - startedAt;
      const attempt = remainingMs > 0 ? await this.#attempt(remainingMs) : 'failed';
      if (attempt === 'holding') renewedAt = startedAt;
      else if (attempt === 'taken' || this.#now().getTime() - renewedAt >= timing.renewDeadlineMs) {
        this.#lose(attempt);
        return;
      }
    }
  }

  #lose(attempt: Attempt): void {
    this.#leading = false;
    this.#options.log.error({ identity: this.#options.identity, attempt }, 'lost leadership');
    this.#options.onStoppedLeading();
  }

  /** Sleeps unless stopped; false once stopped. */
  async #pause(ms: number): Promise<boolean> {
    await sleep(ms, undefined, { signal: this.#stop.signal }).catch(() => undefined);
    return !this.#stop.signal.aborted;
  }

  /** One read and, when the plan says so, one write, both cut off after `budgetMs` or by abort(). */
  async #attempt(budgetMs: number): Promise<Attempt> {
    const { identity, timing, log } = this.#options;
    const signal = AbortSignal.any([this.#stop.signal, AbortSignal.timeout(budgetMs)]);
    try {
      await this.#observe(signal);
      const step = planLeaseStep(identity, this.#observation, timing, this.#now());
      if (step.action === 'wait') return this.#leading ? 'taken' : 'waiting';
      await this.#write(step.action, step.record, signal);
      this.#lastError = undefined;
      return 'holding';
    } catch (error) {
      // A conflict means another replica wrote first: expected, and retried. Anything else (a missing
      // namespace, a refusal by RBAC) is said once, so a replica that can never lead says why.
      if (isConflict(error)) log.debug({ err: error }, 'another replica wrote the leader Lease first');
      else if (String(error) !== this.#lastError) {
        this.#lastError = String(error);
        log.warn(
          { err: error, lease: `${this.#options.namespace}/${this.#options.name}` },
          'could not read or write the leader Lease; retrying',
        );
      }
      return 'failed';
    }
  }

  async #observe(signal: AbortSignal): Promise<void> {
    const { client, namespace, name } = this.#options;
    const found = await client
      .request('GET', objectPath(leaseResource, name, namespace), { signal })
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
  async #write(action: 'create' | 'update', record: LeaseRecord, signal: AbortSignal): Promise<void> {
    const { client, namespace, name } = this.#options;
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
          signal,
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
