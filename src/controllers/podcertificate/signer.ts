import { durationMs } from '../../api/duration.ts';
import { SIGNER_DOMAIN } from '../../api/group.ts';
import { type TrustDomain, trustDomainSchema } from '../../api/trustdomain.ts';
import { JournalError } from '../../core/authorities/journal-codec.ts';
import { activeAuthority } from '../../core/authorities/lifecycle.ts';
import { podBindingProblem } from '../../core/podcert/pod-binding.ts';
import { RequestKeyError, requestKey, SIGNABLE_KEY_TYPES } from '../../core/podcert/public-key.ts';
import type { PodCertificateDenial, PodCertificateFailure } from '../../core/podcert/reasons.ts';
import { chooseEntry, fillPath } from '../../core/podcert/selection.ts';
import { MIN_POD_CERTIFICATE_LIFETIME_MS, podCertificateValidity } from '../../core/podcert/validity.ts';
import { isRefusal, keyTypeRefusal, x509Lifetime } from '../../core/svid/desired-identity.ts';
import { signX509Svid } from '../../core/svid/x509-svid.ts';
import { signerOwner } from '../../core/trustdomain/conflicts.ts';
import { isNotFound, KubeApiError } from '../../kube/errors.ts';
import type { Informer } from '../../kube/informer.ts';
import {
  type PodCertificateRequest,
  parsePod,
  podCertificateRequestSchema,
  serviceAccountSchema,
} from '../../kube/objects.ts';
import { coreResources, objectPath, type ResourceType } from '../../kube/resources.ts';
import type { ReconcileResult } from '../../kube/workqueue.ts';
import { claimsIn } from '../ownership.ts';
import { checkNamespaceClaim, issuanceRefusal, type SigningContext } from '../signing-context.ts';
import { podEntriesIn, selectablePod } from './pods.ts';
import { isSettled } from './request.ts';

export interface PodCertificateSignerOptions extends SigningContext {
  /** Where PodCertificateRequests are served, as discovery found. */
  resource: ResourceType;
  requests: Informer;
  pods: Informer;
}

/** While the trust domain has no active authority, or it ends within the hour, look again this soon. */
const NOT_READY_RETRY_MS = 5_000;

type Decision =
  | { outcome: 'Denied'; reason: PodCertificateDenial; message: string }
  | { outcome: 'Failed'; reason: PodCertificateFailure; message: string };

/**
 * Trustline as a PodCertificateRequest signer: for each request to one of its signers, finds the pod and
 * the entry that selects it, and either issues an X.509-SVID for the kubelet's key or says why not, in one
 * status update. A request is never touched again once it is issued, denied or failed; a transient
 * problem (no active authority yet) writes nothing and looks again.
 */
export class PodCertificateSigner {
  readonly #options: PodCertificateSignerOptions;
  readonly #random: () => number;

  constructor(options: PodCertificateSignerOptions) {
    this.#options = options;
    this.#random = options.random ?? Math.random;
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
    const decided = await this.#decide(request);
    if (decided === 'retry') return { requeueAfterMs: NOT_READY_RETRY_MS };
    if (decided !== 'issued') await this.#conclude(request, decided);
    return undefined;
  };

  async #decide(request: PodCertificateRequest): Promise<Decision | 'issued' | 'retry'> {
    const { spec } = request;
    const namespace = request.metadata.namespace ?? '';
    const trustDomain = this.#trustDomainFor(spec.signerName);
    if (!trustDomain) {
      return {
        outcome: 'Denied',
        reason: 'UnknownSigner',
        message: `no TrustDomain answers for signer ${spec.signerName}`,
      };
    }
    const refusal = issuanceRefusal(this.#options, namespace, trustDomain);
    if (refusal) return { outcome: 'Denied', ...refusal };
    const pod = await this.#pod(namespace, spec.podName, spec.podUID);
    if (!pod) {
      return {
        outcome: 'Denied',
        reason: 'PodNotFound',
        message: `pod ${namespace}/${spec.podName} does not exist`,
      };
    }
    const serviceAccountName = pod.spec.serviceAccountName ?? 'default';
    const binding = podBindingProblem(spec, {
      namespace,
      uid: pod.metadata.uid,
      nodeName: pod.spec.nodeName,
      serviceAccountName,
      deletionTimestamp: pod.metadata.deletionTimestamp,
      serviceAccountUID: await this.#serviceAccountUid(namespace, serviceAccountName),
    });
    if (binding) return { outcome: 'Denied', reason: binding.rule, message: binding.message };
    const facts = selectablePod(pod, spec.signerName);
    const candidates = podEntriesIn(this.#options.entries, namespace, trustDomain.metadata.name);
    const choice = chooseEntry(facts, candidates, spec.unverifiedUserAnnotations ?? {});
    if ('denied' in choice) return { outcome: 'Denied', reason: choice.denied, message: choice.message };
    const { entry } = choice.entry;

    let key: ReturnType<typeof requestKey>;
    try {
      key = requestKey(spec);
    } catch (error) {
      if (!(error instanceof RequestKeyError)) throw error;
      return error.code === 'UnknownKeyType'
        ? { outcome: 'Denied', reason: 'UnsupportedKeyType', message: `${error.message}; use ECDSAP256` }
        : { outcome: 'Failed', reason: 'MalformedRequest', message: error.message };
    }
    const svidKeyType = SIGNABLE_KEY_TYPES[key.keyType];
    const wanted = entry.spec.x509.keyType;
    if (svidKeyType === undefined || (wanted !== undefined && wanted !== svidKeyType)) {
      const allowed = wanted
        ? `RegistrationEntry ${entry.metadata.name} asks for ${wanted} keys`
        : `Trustline signs ${Object.keys(SIGNABLE_KEY_TYPES).join(', ')}`;
      return {
        outcome: 'Denied',
        reason: 'UnsupportedKeyType',
        message: `the kubelet made a ${key.keyType} key; ${allowed}: set the podCertificate volume's keyType to match (ECDSAP256 suits most)`,
      };
    }

    const limit =
      keyTypeRefusal(svidKeyType, trustDomain.spec, 'the kubelet made a key of type') ??
      x509Lifetime(entry.spec, trustDomain.spec);
    if (isRefusal(limit)) return { outcome: 'Denied', reason: limit.refused, message: limit.message };

    const spiffeIDPath = fillPath(entry.spec.spiffeIDPath, facts);
    const verdict = checkNamespaceClaim(this.#options, namespace, trustDomain, {
      spiffeIDPath,
      dnsNames: entry.spec.dnsNames ?? [],
    });
    if (!verdict.allowed && verdict.rule === 'NamespaceNotCached') return 'retry';
    if (!verdict.allowed) return { outcome: 'Denied', reason: verdict.rule, message: verdict.message };

    const journal = this.#options.journals.get(trustDomain.spec.trustDomain);
    if (!journal || journal instanceof JournalError) return 'retry';
    const authority = activeAuthority(journal, 'X509');
    if (!authority) return 'retry';
    this.#options.signers.forgetUnfit(journal);
    const now = this.#options.now();
    const validity = podCertificateValidity({
      now,
      entryTtlMs: limit.ttlMs,
      maxExpirationSeconds: spec.maxExpirationSeconds,
      authorityNotAfter: new Date(authority.notAfter),
      random: this.#random,
    });
    if ('tooShort' in validity) {
      // A CA lifetime under an hour never leaves room; otherwise the next authority soon will.
      if (durationMs(trustDomain.spec.ca.ttl) > MIN_POD_CERTIFICATE_LIFETIME_MS) return 'retry';
      return {
        outcome: 'Failed',
        reason: 'AuthorityLifetimeTooShort',
        message: `${validity.tooShort}; TrustDomain ${trustDomain.metadata.name} has ca.ttl ${trustDomain.spec.ca.ttl}`,
      };
    }

    const spiffeId = `spiffe://${trustDomain.spec.trustDomain}${spiffeIDPath}`;
    const svid = signX509Svid(this.#options.signers.x509(authority), {
      spiffeId,
      dnsNames: entry.spec.dnsNames ?? [],
      spki: key.spki,
      keyType: svidKeyType,
      notBefore: validity.notBefore,
      notAfter: validity.notAfter,
    });
    const forRequest = `PodCertificateRequest/${namespace}/${request.metadata.name}`;
    // Audited as signed before the write: a signature exists even if the status never lands.
    this.#options.audit.signed({
      operation: 'x509-svid',
      trustDomain: trustDomain.spec.trustDomain,
      spiffeId,
      entryUid: entry.metadata.uid ?? '',
      keyType: svidKeyType,
      reason: `pod-certificate: pod ${namespace}/${spec.podName} on node ${spec.nodeName}${validity.adjusted ? `; lifetime ${validity.adjusted}` : ''}`,
      signer: svid.authorityId,
      subject: svid.serial,
      notBefore: svid.notBefore.toISOString(),
      notAfter: svid.notAfter.toISOString(),
      for: forRequest,
    });
    const written = await this.#writeStatus(request, {
      conditions: [
        condition(
          'Issued',
          'Issued',
          `${spiffeId} for pod ${spec.podName} from RegistrationEntry ${entry.metadata.name}, signed by X.509 authority ${svid.authorityId}${validity.adjusted ? `; lifetime ${validity.adjusted}` : ''}`,
          now,
        ),
      ],
      certificateChain: [svid.certificate, ...svid.chain].join(''),
      notBefore: svid.notBefore.toISOString(),
      beginRefreshAt: validity.beginRefreshAt.toISOString(),
      notAfter: svid.notAfter.toISOString(),
    });
    if (written instanceof KubeApiError) {
      return { outcome: 'Failed', reason: 'StatusRejected', message: written.message };
    }
    const created = Date.parse(request.metadata.creationTimestamp ?? '');
    this.#options.metrics.countPodCertificate(
      'Issued',
      Number.isNaN(created) ? undefined : (this.#options.now().getTime() - created) / 1000,
    );
    return 'issued';
  }

  /**
   * The pod of that name, from the cache when it holds the UID asked for, otherwise from the apiserver
   * (the cache may not have seen it yet); the caller compares the rest.
   */
  async #pod(namespace: string, name: string, uid: string) {
    const cached = parsePod(this.#options.pods.get(`${namespace}/${name}`));
    if (cached?.metadata.uid === uid) return cached;
    return parsePod(await this.#get(objectPath(coreResources.pods, name, namespace)));
  }

  /** Read fresh, not cached: a request's ServiceAccount is checked once per issuance. */
  async #serviceAccountUid(namespace: string, name: string): Promise<string | undefined> {
    const account = await this.#get(objectPath(coreResources.serviceAccounts, name, namespace));
    return serviceAccountSchema.safeParse(account).data?.metadata.uid;
  }

  /** The object at `path`, or undefined when there is none. */
  async #get(path: string): Promise<unknown> {
    try {
      return await this.#options.client.request('GET', path);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async #conclude(request: PodCertificateRequest, decision: Decision): Promise<void> {
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

const condition = (type: string, reason: string, message: string, now: Date) => ({
  type,
  status: 'True',
  reason,
  message: message.slice(0, 32_768),
  lastTransitionTime: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
});

export const isTrustlineSigner = (signerName: string): boolean => signerName.startsWith(`${SIGNER_DOMAIN}/`);
