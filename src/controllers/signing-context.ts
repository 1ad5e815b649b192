import type { Logger } from 'pino';
import type { TrustDomain } from '../api/trustdomain.ts';
import { type ClaimVerdict, checkClaim } from '../core/claims.ts';
import { EntryReason } from '../core/svid/reasons.ts';
import { membershipProblem } from '../core/trustdomain/membership.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { Informer } from '../kube/informer.ts';
import type { RestClient } from '../kube/rest.ts';
import type { AuditLog } from '../observability/audit.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { JournalCache } from './journal-cache.ts';
import { ownershipIn } from './ownership.ts';
import type { SignerCache } from './signer-cache.ts';

/** What every controller that signs SVIDs works with, besides its caches. */
export interface SigningContext {
  client: RestClient;
  entries: Informer;
  trustDomains: Informer;
  namespaces: Informer;
  journals: JournalCache;
  signers: SignerCache;
  clusterDomain: string;
  log: Logger;
  now: () => Date;
  random?: () => number;
  metrics: Metrics;
  audit: AuditLog;
  events: EventRecorder;
}

/** A namespace the cache has not seen yet: judging it on empty labels could refuse or grant wrongly. */
export interface NamespaceNotCached {
  allowed: false;
  rule: 'NamespaceNotCached';
  message: string;
}

/** How soon a caller looks again at a claim whose namespace was not yet cached. */
export const NAMESPACE_NOT_CACHED_RETRY_MS = 1_000;

/**
 * Whether a namespace may claim an identity, under the TrustDomain's grants and the namespace's labels.
 * Grants select by label, so a namespace not yet in the cache is not known: the caller looks again
 * shortly instead of deciding.
 */
export function checkNamespaceClaim(
  context: { namespaces: Pick<Informer, 'get'>; clusterDomain: string },
  namespace: string,
  trustDomain: TrustDomain,
  identity: { spiffeIDPath: string; dnsNames: readonly string[] },
): ClaimVerdict | NamespaceNotCached {
  const cached = context.namespaces.get(namespace);
  if (cached === undefined) {
    return {
      allowed: false,
      rule: 'NamespaceNotCached',
      message: `namespace ${namespace} is not in the cache yet; its labels decide the grants, so Trustline looks again shortly`,
    };
  }
  return checkClaim({
    namespace,
    namespaceLabels: cached.metadata.labels ?? {},
    trustDomain: trustDomain.spec.trustDomain,
    spiffeIDPath: identity.spiffeIDPath,
    dnsNames: identity.dnsNames,
    grants: trustDomain.spec.grants ?? [],
    clusterDomain: context.clusterDomain,
  });
}

export interface IssuanceRefusal {
  reason: typeof EntryReason.TrustDomainConflict | typeof EntryReason.NamespaceNotSelected;
  message: string;
}

/**
 * Whether a TrustDomain object may issue to a namespace at all: it must own its trust domain and signer
 * names, and the namespace must be one its issuance selector picks. Asked before every signing.
 */
export function issuanceRefusal(
  context: { namespaces: Pick<Informer, 'get'>; trustDomains: Pick<Informer, 'list'> },
  namespace: string,
  trustDomain: TrustDomain,
): IssuanceRefusal | undefined {
  const conflict = ownershipIn(context.trustDomains, trustDomain);
  if (conflict) {
    return {
      reason: EntryReason.TrustDomainConflict,
      message: `TrustDomain ${trustDomain.metadata.name} signs nothing: ${conflict.message}`,
    };
  }
  const object = context.namespaces.get(namespace);
  // Not judged on labels the cache has not seen: the namespace claim check that follows waits for them.
  if (object === undefined) return undefined;
  const problem = membershipProblem(
    trustDomain.metadata.name,
    trustDomain.spec,
    namespace,
    object.metadata.labels ?? {},
  );
  return problem === undefined ? undefined : { reason: EntryReason.NamespaceNotSelected, message: problem };
}
