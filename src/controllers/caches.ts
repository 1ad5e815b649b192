import type { Logger } from 'pino';
import { keyRevocationKind } from '../api/keyrevocation.ts';
import { registrationEntryKind } from '../api/registrationentry.ts';
import { trustDomainKind } from '../api/trustdomain.ts';
import { LABEL_MANAGED_BY, MANAGED_BY_TRUSTLINE } from '../api/well-known.ts';
import type { OperatorConfig } from '../config.ts';
import { discoverResources } from '../kube/discovery.ts';
import { Informer, type KubeObject } from '../kube/informer.ts';
import {
  CERTIFICATES_GROUP,
  coreResources,
  type ResourceType,
  trustlineResource,
} from '../kube/resources.ts';
import type { RestClient } from '../kube/rest.ts';
import { slimConfigMap, slimSvidSecret, withoutManagedFields } from './cache-transforms.ts';
import type { CacheName } from './definitions.ts';
import { slimPod } from './podcertificate/pods.ts';

interface Scope {
  namespace?: string;
  labelSelector?: string;
  transform?: (object: KubeObject) => KubeObject;
}

const managedByTrustline = { labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY_TRUSTLINE}` };
const svidSecretScope = { ...managedByTrustline, transform: slimSvidSecret };

/**
 * The caches Trustline keeps, not yet started: the Trustline kinds, namespaces, its ConfigMaps, the
 * Secrets of its namespace, SVID Secrets, and where the apiserver serves them (versions come from
 * discovery) pods, PodCertificateRequests and ClusterTrustBundles.
 */
export type Caches = Awaited<ReturnType<typeof createCaches>>;

export async function createCaches(client: RestClient, settings: OperatorConfig, log: Logger) {
  const watched: [CacheName, Informer][] = [];
  // Every cache drops managedFields; some keep less still.
  const cache = (name: CacheName, resource: ResourceType, { transform, ...scope }: Scope = {}) => {
    const slim = transform
      ? (object: KubeObject) => transform(withoutManagedFields(object))
      : withoutManagedFields;
    const created = new Informer(client, { resource, log, ...scope, transform: slim });
    watched.push([name, created]);
    return created;
  };

  const certificates = await discoverResources(client, CERTIFICATES_GROUP, [
    'podcertificaterequests',
    'clustertrustbundles',
  ]);
  const requestResource = certificates.get('podcertificaterequests');
  const trustBundleResource = certificates.get('clustertrustbundles');
  log.info(
    {
      podCertificateRequests: requestResource && `${requestResource.group}/${requestResource.version}`,
      clusterTrustBundles:
        trustBundleResource && `${trustBundleResource.group}/${trustBundleResource.version}`,
    },
    'discovered the certificates API',
  );

  // SVID Secrets, by Trustline's label: in every namespace, or only in those Secret mode is limited to.
  const svidSecretCaches = settings.secretNamespaces
    ? new Map(
        settings.secretNamespaces.map((namespace) => [
          namespace,
          cache('svidSecrets', coreResources.secrets, { ...svidSecretScope, namespace }),
        ]),
      )
    : cache('svidSecrets', coreResources.secrets, svidSecretScope);
  return {
    watched,
    requestResource,
    trustBundleResource,
    trustDomains: cache('trustDomains', trustlineResource(trustDomainKind)),
    registrationEntries: cache('registrationEntries', trustlineResource(registrationEntryKind)),
    keyRevocations: cache('keyRevocations', trustlineResource(keyRevocationKind)),
    namespaces: cache('namespaces', coreResources.namespaces),
    configMaps: cache('configMaps', coreResources.configMaps, {
      ...managedByTrustline,
      transform: slimConfigMap,
    }),
    // An upstream CA Secret, or a journal.
    secrets: cache('secrets', coreResources.secrets, { namespace: settings.namespace }),
    secretCaches: (namespace: string) =>
      svidSecretCaches instanceof Map ? svidSecretCaches.get(namespace) : svidSecretCaches,
    pods: requestResource && cache('pods', coreResources.pods, { transform: slimPod }),
    podCertificateRequests: requestResource && cache('podCertificateRequests', requestResource),
    clusterTrustBundles:
      trustBundleResource && cache('clusterTrustBundles', trustBundleResource, managedByTrustline),
  };
}
