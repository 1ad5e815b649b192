import { API_VERSION } from '../../api/group.ts';
import { LABEL_MANAGED_BY, LABEL_TRUST_DOMAIN_OBJECT, MANAGED_BY_TRUSTLINE } from '../../api/well-known.ts';
import {
  clusterTrustBundleName,
  type PublishedTrustBundle,
  planTrustBundle,
} from '../../core/bundle/cluster-trust-bundle.ts';
import { labelValueFor } from '../../core/labels.ts';
import { isConflict, isNotFound } from '../../kube/errors.ts';
import type { Informer } from '../../kube/informer.ts';
import { clusterTrustBundleSchema } from '../../kube/objects.ts';
import { collectionPath, objectPath, type ResourceType } from '../../kube/resources.ts';
import type { RestClient } from '../../kube/rest.ts';

export interface TrustBundleOwner {
  name: string;
  uid: string;
  signerName: string;
}

/** The ClusterTrustBundles in the cache that Trustline keeps for a TrustDomain object. */
function publishedFor(cache: Informer, owner: TrustBundleOwner): PublishedTrustBundle[] {
  return cache.list().flatMap((object) => {
    const bundle = clusterTrustBundleSchema.safeParse(object).data;
    const labels = bundle?.metadata.labels ?? {};
    if (!bundle || labels[LABEL_MANAGED_BY] !== MANAGED_BY_TRUSTLINE) return [];
    if (labels[LABEL_TRUST_DOMAIN_OBJECT] !== labelValueFor(owner.name)) return [];
    return [
      {
        name: bundle.metadata.name,
        resourceVersion: bundle.metadata.resourceVersion ?? '',
        signerName: bundle.spec.signerName ?? '',
        trustBundle: bundle.spec.trustBundle,
        ownerUid: bundle.metadata.ownerReferences?.find((reference) => reference.kind === 'TrustDomain')?.uid,
      },
    ];
  });
}

/**
 * Keeps the TrustDomain's X.509 roots in a ClusterTrustBundle linked to its signer, so pods can project
 * them next to their podCertificate volume; the same roots as the bundle ConfigMap, so a revoked key
 * leaves both in one reconcile. Returns how many writes were made.
 */
export async function publishClusterTrustBundle(
  client: RestClient,
  resource: ResourceType,
  cache: Informer,
  owner: TrustBundleOwner,
  pem: string,
): Promise<number> {
  const plan = planTrustBundle({
    signerName: owner.signerName,
    pem,
    ownerUid: owner.uid,
    existing: publishedFor(cache, owner),
  });
  const name = clusterTrustBundleName(owner.signerName);
  const body = (resourceVersion?: string) => ({
    apiVersion: `${resource.group}/${resource.version}`,
    kind: 'ClusterTrustBundle',
    metadata: {
      name,
      ...(resourceVersion === undefined ? {} : { resourceVersion }),
      labels: {
        [LABEL_MANAGED_BY]: MANAGED_BY_TRUSTLINE,
        [LABEL_TRUST_DOMAIN_OBJECT]: labelValueFor(owner.name),
      },
      ownerReferences: [
        { apiVersion: API_VERSION, kind: 'TrustDomain', name: owner.name, uid: owner.uid, controller: true },
      ],
    },
    spec: { signerName: owner.signerName, trustBundle: pem },
  });
  let writes = 0;
  if (plan.update) {
    await client.request('PUT', objectPath(resource, name), { body: body(plan.update.resourceVersion) });
    writes += 1;
  }
  if (plan.create) {
    try {
      await client.request('POST', collectionPath(resource), { body: body() });
    } catch (error) {
      // One the cache has not seen yet: put the content in place over it.
      if (!isConflict(error)) throw error;
      const current = clusterTrustBundleSchema.parse(await client.request('GET', objectPath(resource, name)));
      await client.request('PUT', objectPath(resource, name), {
        body: body(current.metadata.resourceVersion ?? ''),
      });
    }
    writes += 1;
  }
  for (const stale of plan.remove) {
    try {
      await client.request('DELETE', objectPath(resource, stale.name), {
        body: {
          kind: 'DeleteOptions',
          apiVersion: 'v1',
          preconditions: { resourceVersion: stale.resourceVersion },
        },
      });
      writes += 1;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  return writes;
}
