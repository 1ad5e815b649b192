import type { Logger } from 'pino';
import { keyRevocationKind } from '../api/keyrevocation.ts';
import { registrationEntryKind } from '../api/registrationentry.ts';
import { trustDomainKind } from '../api/trustdomain.ts';
import type { OperatorConfig } from '../config.ts';
import type { EventRecorder } from '../kube/events.ts';
import { trustlineResource } from '../kube/resources.ts';
import type { RestClient } from '../kube/rest.ts';
import type { AuditLog } from '../observability/audit.ts';
import type { FailpointTrigger } from '../observability/failpoints.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Caches } from './caches.ts';
import type { ConfirmedSvids } from './confirmed-svids.ts';
import type { Echoes } from './echoes.ts';
import type { JournalCache } from './journal-cache.ts';
import { KeyRevocationReconciler } from './keyrevocation/reconciler.ts';
import { PodCertificateSigner } from './podcertificate/signer.ts';
import { RegistrationEntryReconciler } from './registrationentry/reconciler.ts';
import type { Reconcile } from './router.ts';
import { SignerCache } from './signer-cache.ts';
import { statusWriter } from './status-writer.ts';
import { PodCertificateInventory } from './svid-inventory.ts';
import { TrustDomainReconciler } from './trustdomain/reconciler.ts';

export interface ReconcilerOptions {
  client: RestClient;
  settings: OperatorConfig;
  caches: Caches;
  journals: JournalCache;
  /** Trustline's own writes, whose watch events wake no one. */
  echoes: Echoes;
  /** SVID Secrets as the apiserver confirmed them: what revocations count. */
  confirmedSvids: ConfirmedSvids;
  failpoint: FailpointTrigger;
  log: Logger;
  now: () => Date;
  metrics: Metrics;
  audit: AuditLog;
  events: EventRecorder;
}

/** Each controller's reconciler over the caches, by the name of its definition. */
export function createReconcilers({
  client,
  settings,
  caches,
  journals,
  echoes,
  confirmedSvids,
  failpoint,
  ...observability
}: ReconcilerOptions): Record<string, Reconcile | undefined> {
  const { trustDomains, registrationEntries, keyRevocations, namespaces, configMaps, secrets } = caches;
  const { pods, podCertificateRequests, clusterTrustBundles } = caches;
  const { secretCaches, requestResource, trustBundleResource } = caches;
  const podCertificates = podCertificateRequests && new PodCertificateInventory(podCertificateRequests);
  const signers = new SignerCache();
  const entries = new RegistrationEntryReconciler({
    ...observability,
    client,
    entries: registrationEntries,
    trustDomains,
    namespaces,
    journals,
    secretCaches,
    echoes,
    confirmedSvids,
    pods,
    secretModeOff: settings.secretNamespaces?.length === 0,
    clusterDomain: settings.clusterDomain,
    signers,
  });
  const trustDomainReconciler = new TrustDomainReconciler({
    ...observability,
    client,
    caches: {
      trustDomains,
      registrationEntries,
      namespaces,
      configMaps,
      secrets,
      keyRevocations,
      svidSecrets: confirmedSvids.caches,
      journals,
      podCertificates,
    },
    operatorNamespace: settings.namespace,
    failpoint,
    clusterTrustBundles: trustBundleResource &&
      clusterTrustBundles && { resource: trustBundleResource, cache: clusterTrustBundles },
  });
  const revocations = new KeyRevocationReconciler({
    ...observability,
    writeStatus: statusWriter(client, trustlineResource(keyRevocationKind)),
    keyRevocations,
    trustDomains,
    registrationEntries,
    secrets,
    svidSecrets: confirmedSvids.caches,
    podCertificates,
    journals,
    operatorNamespace: settings.namespace,
  });
  const signer =
    requestResource &&
    pods &&
    podCertificateRequests &&
    new PodCertificateSigner({
      ...observability,
      client,
      resource: requestResource,
      requests: podCertificateRequests,
      pods,
      entries: registrationEntries,
      trustDomains,
      namespaces,
      journals,
      signers,
      clusterDomain: settings.clusterDomain,
    });
  return {
    [trustDomainKind.kind]: trustDomainReconciler.reconcile,
    [registrationEntryKind.kind]: entries.reconcile,
    [keyRevocationKind.kind]: revocations.reconcile,
    PodCertificateRequest: signer?.reconcile,
  };
}
