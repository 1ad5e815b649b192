import { API_VERSION } from '../../api/group.ts';
import type { ObjectMeta } from '../../api/meta.ts';
import { LABEL_MANAGED_BY, LABEL_TRUST_DOMAIN_OBJECT, MANAGED_BY_TRUSTLINE } from '../../api/well-known.ts';
import {
  clusterTrustBundleName,
  type PublishedTrustBundle,
  planTrustBundle,
} from '../../core/bundle/cluster-trust-bundle.ts';
import { labelValueFor } from '../../core/labels.ts';
import { applyDerived, type Requester } from '../../kube/apply.ts';
import { ForeignObjectError, isNotFound } from '../../kube/errors.ts';
import type { Informer } from '../../kube/informer.ts';
import { clusterTrustBundleSchema } from '../../kube/objects.ts';
import { objectPath, type ResourceType } from '../../kube/resources.ts';

/** The ClusterTrustBundle cache, as far as publishing reads it. */
export type BundleCache = Pick<Informer, 'list' | 'get'>;

export interface TrustBundleOwner {
  name: string;
  uid: string;
  signerName: string;
}

/** The ClusterTrustBundles in the cache that Trustline keeps for a TrustDomain object. */
function publishedFor(cache: BundleCache, owner: TrustBundleOwner): PublishedTrustBundle[] {
  return cache.list().flatMap((object) => {
    const bundle = clusterTrustBundleSchema.safeParse(object).data;
    if (!bundle || !labelledFor(bundle.metadata, owner)) return [];
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

const labelledFor = (metadata: ObjectMeta, owner: TrustBundleOwner) =>
  metadata.labels?.[LABEL_MANAGED_BY] === MANAGED_BY_TRUSTLINE &&
  metadata.labels[LABEL_TRUST_DOMAIN_OBJECT] === labelValueFor(owner.name);

/** Trustline's copy for the owner: its labels, or the ownerReference Trustline gave it. */
const madeFor = (metadata: ObjectMeta, owner: TrustBundleOwner) =>
  labelledFor(metadata, owner) ||
  (owner.uid !== '' &&
    (metadata.ownerReferences?.some(
      (reference) => reference.kind === 'TrustDomain' && reference.uid === owner.uid,
    ) ??
      false));

/**
 * Keeps the TrustDomain's X.509 roots in a ClusterTrustBundle linked to its signer, so pods can project
 * them next to their podCertificate volume; the same roots as the bundle ConfigMap, so a revoked key
 * leaves both in one reconcile. Returns how many writes were made. A ClusterTrustBundle of the name
 * that Trustline did not make is never written: that is thrown as a ForeignObjectError (a KubeApiError,
 * 409 AlreadyExists), after the stale copies are removed.
 */
export async function publishClusterTrustBundle(
  client: Requester,
  resource: ResourceType,
  cache: BundleCache,
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
  let writes = 0;
  let foreign = false;
  if (plan.create || plan.update) {
    const outcome = await applyDerived(
      client,
      {
        resource,
        manifest: {
          apiVersion: `${resource.group}/${resource.version}`,
          kind: 'ClusterTrustBundle',
          metadata: {
            name,
            labels: {
              [LABEL_MANAGED_BY]: MANAGED_BY_TRUSTLINE,
              [LABEL_TRUST_DOMAIN_OBJECT]: labelValueFor(owner.name),
            },
            ownerReferences: [
              {
                apiVersion: API_VERSION,
                kind: 'TrustDomain',
                name: owner.name,
                uid: owner.uid,
                controller: true,
              },
            ],
          },
          spec: { signerName: owner.signerName, trustBundle: pem },
        },
        owns: (object) => madeFor(object.metadata, owner),
      },
      plan.update ? cache.get(name) : undefined,
    );
    if (outcome.kind === 'written') writes += 1;
    foreign = outcome.kind === 'foreign';
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
  if (foreign) throw new ForeignObjectError(`ClusterTrustBundle ${name}`);
  return writes;
}
