import { type TrustDomain, trustDomainSchema } from '../../api/trustdomain.ts';
import { JournalError } from '../../core/authorities/journal-codec.ts';
import {
  type AuthoritySigner,
  type ObservedSigner,
  type PodCertificateConclusion,
  type PodCertificateObservation,
  planPodCertificate,
} from '../../core/podcert/plan.ts';
import { signX509Svid } from '../../core/svid/x509-svid.ts';
import { signerOwner } from '../../core/trustdomain/conflicts.ts';
import { KubeApiError } from '../../kube/errors.ts';
import type { EventRecorder } from '../../kube/events.ts';
import type { Informer } from '../../kube/informer.ts';
import { type PodCertificateRequest, podCertificateRequestSchema } from '../../kube/objects.ts';
import { objectPath, type ResourceType } from '../../kube/resources.ts';
import type { RestClient } from '../../kube/rest.ts';
import type { ReconcileResult } from '../../kube/workqueue.ts';
import type { AuditLog } from '../../observability/audit.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { JournalCache } from '../journal-cache.ts';
import { claimsIn } from '../ownership.ts';
import type { SignerCache } from '../signer-cache.ts';
import { checkNamespaceClaim, issuanceRefusal, type SigningContext } from '../signing-context.ts';
import { podEntriesIn } from './pods.ts';
import { condition, isSettled, isTrustlineSigner } from './request.ts';
import { readPod, readServiceAccountUid } from './subjects.ts';

/** What the signer reads and writes through; the operator passes its caches and clients. */
export interface PodCertificateSignerOptions
  extends Pick<SigningContext, 'clusterDomain' | 'log' | 'now' | 'random'> {
  client: Pick<RestClient, 'request'>;
  /** Where PodCertificateRequests are served, as discovery found. */
  resource: ResourceType;
  requests: Pick<Informer, 'get'>;
  pods: Pick<Informer, 'get'>;
  entries: Pick<Informer, 'byNamespace'>;
  trustDomains: Pick<Informer, 'get' | 'list'>;
  namespaces: Pick<Informer, 'get'>;
  journals: Pick<JournalCache, 'get'>;
  signers: Pick<SignerCache, 'x509' | 'forgetUnfit'>;
  metrics: Pick<Metrics, 'countPodCertificate'>;
  audit: Pick<AuditLog, 'signed'>;
  events: Pick<EventRecorder, 'record'>;
}

/**
 * Trustline as a PodCertificateRequest signer: reads the request and what it names, asks the core for a
 * plan, and writes the outcome in one status update. A request is never touched again once it is
 * issued, denied or failed; a transient problem writes nothing and looks again.
 */
export class PodCertificateSigner {
  readonly #options: PodCertificateSignerOptions;
  readonly #random: () => number;
  readonly #signer: AuthoritySigner;

  constructor(options: PodCertificateSignerOptions) {
    this.#options = options;
    this.#random = options.random ?? Math.random;
    this.#signer = {
      signX509: async (authority, template) => signX509Svid(options.signers.x509(authority), template),
    };
  }

  readonly reconcile = async (key: string): Promise<ReconcileResult> => {
    const object = this.#options.requests.get(key);
    if (!object) return undefined;
    const parsed = podCertificateRequestSchema.safeParse(object);
    if (!parsed.success) {
      this.#options.log.warn({ request: key }, 'ignored a PodCertificateRequest that does not parse');
      return undefined;
    }
    const request = parsed.data;
    if (isSettled(request) || !isTrustlineSigner(request.spec.signerName)) return undefined;
    const now = this.#options.now();
    const plan = await planPodCertificate(this.#observe(request, now), this.#signer);
    if ('retryAfterMs' in plan) return { requeueAfterMs: plan.retryAfterMs };
    if (plan.outcome !== 'Issued') {
      await this.#conclude(request, plan);
      return undefined;
    }
    // Audited as signed before the write: a signature exists even if the status never lands.
    this.#options.audit.signed(plan.audit);
    const { message, ...certificate } = plan.status;
    const written = await this.#writeStatus(request, {
      conditions: [condition('Issued', 'Issued', message, now)],
      ...certificate,
    });
    if (written instanceof KubeApiError) {
      await this.#conclude(request, {
        outcome: 'Failed',
        reason: 'StatusRejected',
        message: written.message,
      });
      return undefined;
    }
    const created = Date.parse(request.metadata.creationTimestamp ?? '');
    this.#options.metrics.countPodCertificate(
      'Issued',
      Number.isNaN(created) ? undefined : (this.#options.now().getTime() - created) / 1000,
    );
    return undefined;
  };

  #observe(request: PodCertificateRequest, now: Date): PodCertificateObservation {
    const { spec } = request;
    const namespace = request.metadata.namespace ?? '';
    const trustDomain = this.#trustDomainFor(spec.signerName);
    return {
      request: { namespace, name: request.metadata.name, spec },
      signer: trustDomain && this.#observeSigner(namespace, trustDomain),
      pod: () => readPod(this.#options, namespace, spec),
      serviceAccountUid: (name) => readServiceAccountUid(this.#options.client, namespace, name),
      now,
      random: this.#random,
    };
  }

  #observeSigner(namespace: string, trustDomain: TrustDomain): ObservedSigner {
    const journal = this.#options.journals.get(trustDomain.spec.trustDomain);
    if (journal && !(journal instanceof JournalError)) this.#options.signers.forgetUnfit(journal);
    return {
      trustDomain,
      refusal: issuanceRefusal(this.#options, namespace, trustDomain),
      entries: () => podEntriesIn(this.#options.entries, namespace, trustDomain.metadata.name),
      claim: (identity) => checkNamespaceClaim(this.#options, namespace, trustDomain, identity),
      journal,
    };
  }

  /**
   * The TrustDomain object that answers for a signer name, if any: the oldest naming it, so a newer
   * object that copies a signer name never gets its requests.
   */
  #trustDomainFor(signerName: string): TrustDomain | undefined {
    const { trustDomains } = this.#options;
    const owner = signerOwner(signerName, claimsIn(trustDomains));
    return owner && trustDomainSchema.safeParse(trustDomains.get(owner.name)).data;
  }

  async #conclude(request: PodCertificateRequest, decision: PodCertificateConclusion): Promise<void> {
    const now = this.#options.now();
    const written = await this.#writeStatus(request, {
      conditions: [condition(decision.outcome, decision.reason, decision.message, now)],
    });
    if (written instanceof KubeApiError) throw written;
    this.#options.metrics.countPodCertificate(decision.outcome, undefined);
    await this.#options.events.record(request, 'Warning', decision.reason, decision.message);
  }

  /**
   * One status update carries the whole outcome. A conflict means the request changed (or another
   * replica answered it): the error goes back to the queue, which looks again at the cache. The API
   * refusing the status is returned: no retry would change its mind.
   */
  async #writeStatus(request: PodCertificateRequest, status: Record<string, unknown>) {
    const { client, resource } = this.#options;
    const name = request.metadata.name;
    try {
      await client.request('PUT', `${objectPath(resource, name, request.metadata.namespace)}/status`, {
        body: { ...request, status },
      });
      return undefined;
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 422) return error;
      throw error;
    }
  }
}
