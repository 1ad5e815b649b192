import { GROUP, VERSION } from '../api/group.ts';

/** Where a kind lives in the REST API. */
export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
}

export function trustlineResource(kind: { plural: string; scope: 'Cluster' | 'Namespaced' }): ResourceType {
  return { group: GROUP, version: VERSION, plural: kind.plural, namespaced: kind.scope === 'Namespaced' };
}

const core = (plural: string, namespaced: boolean): ResourceType => ({
  group: '',
  version: 'v1',
  plural,
  namespaced,
});

/** The built-in resources Trustline reads and writes. */
export const coreResources = {
  namespaces: core('namespaces', false),
  configMaps: core('configmaps', true),
  secrets: core('secrets', true),
  events: core('events', true),
  pods: core('pods', true),
  serviceAccounts: core('serviceaccounts', true),
} as const;

const groupPrefix = (resource: ResourceType) =>
  resource.group === '' ? `/api/${resource.version}` : `/apis/${resource.group}/${resource.version}`;

/** The collection path; across all namespaces when a namespaced resource is listed without one. */
export function collectionPath(resource: ResourceType, namespace?: string): string {
  const scope = resource.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${groupPrefix(resource)}${scope}/${resource.plural}`;
}

export function objectPath(resource: ResourceType, name: string, namespace?: string): string {
  return `${collectionPath(resource, namespace)}/${encodeURIComponent(name)}`;
}

/** The Lease replicas elect their leader with. */
export const leaseResource: ResourceType = {
  group: 'coordination.k8s.io',
  version: 'v1',
  plural: 'leases',
  namespaced: true,
};

/** The API group of PodCertificateRequests and ClusterTrustBundles; their version is discovered. */
export const CERTIFICATES_GROUP = 'certificates.k8s.io';
