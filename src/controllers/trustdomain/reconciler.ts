import type { Logger } from 'pino';
import { trustDomainSchema } from '../../api/trustdomain.ts';
import { describeIssues } from '../../api/validation.ts';
import { FINALIZER_IN_USE } from '../../api/well-known.ts';
import { JournalError } from '../../core/authorities/journal-codec.ts';
import type { DesiredCondition } from '../../core/conditions.ts';
import { readyCondition as ready } from '../../core/conditions.ts';
import {
  admit,
  HELD_RECHECK_MS,
  type JournalAsStored,
  refusalStop,
  type Stop,
  specRefusal,
} from '../../core/trustdomain/gate.ts';
import { type AuthorityMinter, localMinter } from '../../core/trustdomain/minter.ts';
import { conclude, oversized } from '../../core/trustdomain/outcome.ts';
import { planRotation } from '../../core/trustdomain/plan.ts';
import { TrustDomainReason } from '../../core/trustdomain/reasons.ts';
import type { EventRecorder } from '../../kube/events.ts';
import type { Informer, KubeObject } from '../../kube/informer.ts';
import type { ResourceType } from '../../kube/resources.ts';
import type { RestClient } from '../../kube/rest.ts';
import type { ReconcileResult } from '../../kube/workqueue.ts';
import type { AuditLog } from '../../observability/audit.ts';
import type { FailpointTrigger } from '../../observability/failpoints.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { ownershipIn } from '../ownership.ts';
import { type ApplyContext, applyPublications, commitJournal } from './apply.ts';
import { handleDeletion } from './deletion.ts';
import {
  bundleNamespaces,
  observeUpstream,
  revocationCounts,
  revocationRequests,
  revoking,
  type TrustDomainCaches,
} from './observation.ts';
import { kubeWrites, type TrustDomainWrites } from './writes.ts';

export type { TrustDomainCaches } from './observation.ts';

interface CommonOptions {
  caches: TrustDomainCaches;
  operatorNamespace: string;
  log: Logger;
  now: () => Date;
  metrics: Pick<Metrics, 'countRotation' | 'setAuthorities' | 'setBundleSequence' | 'forgetTrustDomain'>;
  audit: Pick<AuditLog, 'signed' | 'revocation'>;
  events: Pick<EventRecorder, 'record'>;
  failpoint: FailpointTrigger;
  /** Where new authorities' keys come from; generated in this process by default. */
  minter?: AuthorityMinter | undefined;
}

export type TrustDomainControllerOptions = CommonOptions &
  (
    | {
        client: RestClient;
        /** Where ClusterTrustBundles are served and the cache of Trustline's; unset on clusters without them. */
        clusterTrustBundles?: { resource: ResourceType; cache: Informer } | undefined;
      }
    | { writes: TrustDomainWrites }
  );

/**
 * Reconciles one TrustDomain: reads the caches and the journal, asks the core for a plan, records
 * the journal before anything it signs is published, publishes, and writes status once. Every step
 * is idempotent, so a reconcile cut off anywhere converges on the next one.
 */
export class TrustDomainReconciler {
  readonly #options: TrustDomainControllerOptions;
  readonly #writes: TrustDomainWrites;
  readonly #apply: ApplyContext;

  constructor(options: TrustDomainControllerOptions) {
    this.#options = options;
    this.#writes =
      'writes' in options
        ? options.writes
        : kubeWrites({ ...options, configMaps: options.caches.configMaps });
    const { log, metrics, audit, events, failpoint, caches } = options;
    this.#apply = {
      writes: this.#writes,
      keyRevocations: caches.keyRevocations,
      log,
      metrics,
      audit,
      events,
      failpoint,
    };
  }

  readonly reconcile = async (key: string): Promise<ReconcileResult> => {
    const { caches } = this.#options;
    const object = caches.trustDomains.get(key);
    if (!object) return undefined;
    // Deletion comes before validation, so an object that no longer passes the schema can still go.
    let held: DesiredCondition | undefined;
    if (object.metadata.deletionTimestamp) {
      const deletion = await handleDeletion({ ...this.#options, ...caches, writes: this.#writes }, object);
      if (deletion === 'done') return undefined;
      held = deletion;
    }
    const parsed = trustDomainSchema.safeParse(object);
    if (!parsed.success) {
      const invalid = ready(TrustDomainReason.InvalidSpec, describeIssues(parsed.error));
      return this.#stop(object, {
        ready: held ?? invalid,
        requeueAfterMs: held ? HELD_RECHECK_MS : undefined,
      });
    }
    const trustDomain = parsed.data;
    if (!held && !trustDomain.metadata.finalizers?.includes(FINALIZER_IN_USE)) {
      // The update this causes brings the object back through the queue.
      await this.#writes.setFinalizers(object, [
        ...(trustDomain.metadata.finalizers ?? []),
        FINALIZER_IN_USE,
      ]);
      return undefined;
    }
    const refusal = specRefusal(trustDomain, ownershipIn(caches.trustDomains, trustDomain));
    const refused = refusalStop(held, refusal);
    if (refused) return this.#stop(object, refused);
    const { operatorNamespace, now } = this.#options;
    const upstream = observeUpstream(trustDomain, caches.secrets, operatorNamespace, now());
    const admission = admit({
      trustDomain,
      held,
      refusal,
      revoking: revoking(caches, trustDomain),
      upstream,
      stored: await this.#loadJournal(trustDomain.spec.trustDomain),
      operatorNamespace,
    });
    if ('stop' in admission) return this.#stop(object, admission.stop);
    const { signing, problem, stored } = admission;
    const plan = await planRotation({
      trustDomain,
      stored,
      signing,
      problem,
      now: now(),
      minter: this.#minter(),
      revocations: revocationRequests(
        caches,
        trustDomain,
        stored.journal,
        signing.upstream,
        operatorNamespace,
      ),
      counts: revocationCounts(caches, trustDomain),
      namespaces: await bundleNamespaces(caches.namespaces, trustDomain),
    });
    await commitJournal(this.#apply, plan);
    const conclusion = oversized(plan) ?? conclude(plan, await applyPublications(this.#apply, plan), now());
    await this.#writes.writeStatus(object, conclusion.fields, conclusion.conditions, now());
    return { requeueAfterMs: conclusion.requeueAfterMs };
  };

  /** The journal, or the error that says it cannot be read: a JournalError is reported, not thrown. */
  async #loadJournal(trustDomain: string): Promise<JournalAsStored | JournalError> {
    try {
      return await this.#writes.loadJournal(trustDomain);
    } catch (error) {
      if (!(error instanceof JournalError)) throw error;
      this.#options.log.error({ trustDomain, err: error }, 'journal unreadable');
      return error;
    }
  }

  /** The minter, firing the failpoint after each key so tests can stop the operator there. */
  #minter(): AuthorityMinter {
    const minter = this.#options.minter ?? localMinter;
    const { failpoint } = this.#options;
    return {
      x509: async (params) => {
        const authority = await minter.x509(params);
        failpoint('authority-minted');
        return authority;
      },
      jwt: async (params) => {
        const authority = await minter.jwt(params);
        failpoint('authority-minted');
        return authority;
      },
    };
  }

  async #stop(object: KubeObject, stop: Stop): Promise<ReconcileResult> {
    await this.#writes.writeStatus(object, {}, [stop.ready], this.#options.now());
    return stop.requeueAfterMs === undefined ? undefined : { requeueAfterMs: stop.requeueAfterMs };
  }
}
