import { signerNameOf, type TrustDomain } from '../../api/trustdomain.ts';
import { JournalError } from '../../core/authorities/journal-codec.ts';
import type { Journal } from '../../core/authorities/model.ts';
import { type UpstreamCA, UpstreamError } from '../../core/authorities/upstream.ts';
import type { RevocationContext, RevocationRequest } from '../../core/revocation/assess.ts';
import { inProgress } from '../../core/revocation/progress.ts';
import { selectorMatches } from '../../core/selector.ts';
import { inSlices } from '../../core/time-slice.ts';
import type { UpstreamObserved } from '../../core/trustdomain/gate.ts';
import type { RevocationCounts } from '../../core/trustdomain/plan.ts';
import type { Informer } from '../../kube/informer.ts';
import { namespaceSchema } from '../../kube/objects.ts';
import type { JournalCache } from '../journal-cache.ts';
import { requestsFor, revocationContext } from '../keyrevocation/context.ts';
import { type PodCertificateInventory, svidsBySigner } from '../svid-inventory.ts';
import { readUpstream, UpstreamNotBoundError } from './upstream-secret.ts';

/** What the controller reads of a cache: an Informer, or an in-memory fake of one. */
export type Cache = Pick<Informer, 'get' | 'list'>;

export interface TrustDomainCaches {
  trustDomains: Cache;
  registrationEntries: Cache;
  namespaces: Cache;
  configMaps: Cache;
  /** Secrets in the operator's namespace. */
  secrets: Cache;
  keyRevocations: Cache;
  /** The cache of Trustline's SVID Secrets in a namespace. */
  svidSecrets: (namespace: string) => Pick<Cache, 'get'> | undefined;
  journals: Pick<JournalCache, 'get'>;
  /** Certificates issued to PodCertificateRequests, where the cluster serves them: they count in revocations. */
  podCertificates?: Pick<PodCertificateInventory, 'of'> | undefined;
}

// Local until a shared module of Kubernetes object schemas exists: the fields the selector reads.
/** The upstream CA Secret as the cache holds it, or which of its problems stops minting. */
export function observeUpstream(
  trustDomain: TrustDomain,
  secrets: Cache,
  operatorNamespace: string,
  now: Date,
): UpstreamObserved {
  const read = readUpstream(trustDomain, secrets, operatorNamespace, now);
  if (!(read instanceof Error)) return { ca: read };
  const problem =
    read instanceof UpstreamError
      ? 'UpstreamInvalid'
      : read instanceof UpstreamNotBoundError
        ? 'UpstreamNotBound'
        : 'UpstreamNotFound';
  return { problem, message: read.message };
}

/** Whether a KeyRevocation names this TrustDomain or its journal carries one under way. */
export function revoking(caches: TrustDomainCaches, trustDomain: TrustDomain): boolean {
  if (requestsFor(caches.keyRevocations, trustDomain.metadata.name).length > 0) return true;
  const journal = caches.journals.get(trustDomain.spec.trustDomain);
  return journal !== undefined && !(journal instanceof JournalError) && inProgress(journal).length > 0;
}

/** The KeyRevocations naming this TrustDomain and, when there are any, what assessing them needs. */
export function revocationRequests(
  caches: TrustDomainCaches,
  trustDomain: TrustDomain,
  journal: Journal,
  upstream: UpstreamCA | undefined,
  operatorNamespace: string,
): { requests: RevocationRequest[]; context: RevocationContext } | undefined {
  const requests = requestsFor(caches.keyRevocations, trustDomain.metadata.name);
  if (requests.length === 0) return undefined;
  const { trustDomains, journals } = caches;
  return {
    requests,
    context: revocationContext({ trustDomain, journal, upstream, operatorNamespace, trustDomains, journals }),
  };
}

/** The SVIDs and pod certificates each authority signed, counted when a revocation asks. */
export const revocationCounts =
  (caches: TrustDomainCaches, trustDomain: TrustDomain) => async (): Promise<RevocationCounts> => {
    const counts = await svidsBySigner(
      caches.registrationEntries,
      caches.svidSecrets,
      trustDomain.metadata.name,
    );
    return {
      ...counts,
      podCertificates: (await caches.podCertificates?.of(signerNameOf(trustDomain))) ?? [],
    };
  };

/**
 * The namespaces the bundle goes to: every one the selector matches that is not being deleted. A
 * cluster may have thousands: they are read in slices that let the event loop turn.
 */
export async function bundleNamespaces(namespaces: Cache, trustDomain: TrustDomain): Promise<string[]> {
  const selector = trustDomain.spec.bundle.namespaceSelector ?? {};
  const selected: string[] = [];
  for await (const object of inSlices(namespaces.list())) {
    const namespace = namespaceSchema.safeParse(object);
    if (!namespace.success || namespace.data.metadata.deletionTimestamp) continue;
    if (selectorMatches(selector, namespace.data.metadata.labels))
      selected.push(namespace.data.metadata.name);
  }
  return selected.sort();
}
