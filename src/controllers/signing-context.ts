import type { Logger } from 'pino';
import type { TrustDomain } from '../api/trustdomain.ts';
import { type ClaimVerdict, checkClaim } from '../core/claims.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { Informer } from '../kube/informer.ts';
import type { RestClient } from '../kube/rest.ts';
import type { AuditLog } from '../observability/audit.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { JournalCache } from './journal-cache.ts';
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

/** Whether a namespace may claim an identity, under the TrustDomain's grants and the namespace's labels. */
export function checkNamespaceClaim(
  context: Pick<SigningContext, 'namespaces' | 'clusterDomain'>,
  namespace: string,
  trustDomain: TrustDomain,
  identity: { spiffeIDPath: string; dnsNames: readonly string[] },
): ClaimVerdict {
  return checkClaim({
    namespace,
    namespaceLabels: context.namespaces.get(namespace)?.metadata.labels ?? {},
    trustDomain: trustDomain.spec.trustDomain,
    spiffeIDPath: identity.spiffeIDPath,
    dnsNames: identity.dnsNames,
    grants: trustDomain.spec.grants ?? [],
    clusterDomain: context.clusterDomain,
  });
}
