import { z } from 'zod';
import { API_VERSION } from '../../api/group.ts';
import { objectMetaSchema } from '../../api/meta.ts';
import {
  LABEL_CONTENT,
  LABEL_MANAGED_BY,
  LABEL_TRUST_DOMAIN_OBJECT,
  MANAGED_BY_TRUSTLINE,
} from '../../api/well-known.ts';
import { type PublishedCopy, planPublication } from '../../core/publication.ts';
import { KubeApiError } from '../../kube/errors.ts';
import type { KubeObject } from '../../kube/informer.ts';
import { collectionPath, coreResources, objectPath } from '../../kube/resources.ts';
import type { RestClient } from '../../kube/rest.ts';

const configMapSchema = z.object({
  metadata: objectMetaSchema,
  data: z.record(z.string(), z.string()).optional(),
});

/** One document Trustline keeps in a set of namespaces on behalf of a TrustDomain. */
export interface Publication {
  name: string;
  content: string;
  data: Record<string, string>;
  namespaces: readonly string[];
  owner: { name: string; uid: string };
}

const isOwnedBy = (object: z.infer<typeof configMapSchema>, owner: Publication['owner'], content: string) =>
  object.metadata.labels?.[LABEL_MANAGED_BY] === MANAGED_BY_TRUSTLINE &&
  object.metadata.labels?.[LABEL_TRUST_DOMAIN_OBJECT] === owner.name &&
  object.metadata.labels?.[LABEL_CONTENT] === content;

/** The copies of a publication among the cached ConfigMaps Trustline manages. */
export function publishedCopies(
  configMaps: readonly KubeObject[],
  owner: Publication['owner'],
  content: string,
): PublishedCopy[] {
  return configMaps.flatMap((object) => {
    const configMap = configMapSchema.safeParse(object);
    if (!configMap.success || !isOwnedBy(configMap.data, owner, content)) return [];
    const { metadata, data = {} } = configMap.data;
    return [
      {
        namespace: metadata.namespace ?? '',
        name: metadata.name,
        resourceVersion: metadata.resourceVersion ?? '',
        data,
        ownerUid: metadata.ownerReferences?.find((reference) => reference.kind === 'TrustDomain')?.uid,
      },
    ];
  });
}

function configMapBody(publication: Publication, namespace: string, resourceVersion?: string) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: publication.name,
      namespace,
      ...(resourceVersion === undefined ? {} : { resourceVersion }),
      labels: {
        [LABEL_MANAGED_BY]: MANAGED_BY_TRUSTLINE,
        [LABEL_TRUST_DOMAIN_OBJECT]: publication.owner.name,
        [LABEL_CONTENT]: publication.content,
      },
      ownerReferences: [
        {
          apiVersion: API_VERSION,
          kind: 'TrustDomain',
          name: publication.owner.name,
          uid: publication.owner.uid,
          controller: true,
        },
      ],
    },
    data: publication.data,
  };
}

export interface PublicationResult {
  /** Namespaces where a ConfigMap of that name exists that Trustline did not create. */
  foreign: string[];
  writes: number;
}

/**
 * Brings the cluster to the publication: creates, puts back and removes copies, and writes nothing
 * where a copy already matches. A ConfigMap of the same name that Trustline did not create is left
 * untouched and reported. `afterWrite` runs after each write (a failpoint in tests).
 */
export async function publish(
  client: RestClient,
  publication: Publication,
  existing: readonly PublishedCopy[],
  afterWrite: () => void = () => {},
): Promise<PublicationResult> {
  const plan = planPublication({
    name: publication.name,
    data: publication.data,
    namespaces: publication.namespaces,
    existing,
    ownerUid: publication.owner.uid,
  });
  const result: PublicationResult = { foreign: [], writes: 0 };
  const put = async (namespace: string, resourceVersion: string) => {
    await client.request('PUT', objectPath(coreResources.configMaps, publication.name, namespace), {
      body: configMapBody(publication, namespace, resourceVersion),
    });
    result.writes += 1;
    afterWrite();
  };
  for (const namespace of plan.create) {
    try {
      await client.request('POST', collectionPath(coreResources.configMaps, namespace), {
        body: configMapBody(publication, namespace),
      });
      result.writes += 1;
      afterWrite();
    } catch (error) {
      if (!(error instanceof KubeApiError && error.status === 409)) throw error;
      // Either a copy the cache has not seen yet, or someone else's ConfigMap.
      const current = configMapSchema.parse(
        await client.request('GET', objectPath(coreResources.configMaps, publication.name, namespace)),
      );
      if (isOwnedBy(current, publication.owner, publication.content)) {
        await put(namespace, current.metadata.resourceVersion ?? '');
      } else {
        result.foreign.push(namespace);
      }
    }
  }
  for (const { namespace, resourceVersion } of plan.update) await put(namespace, resourceVersion);
  for (const { namespace, name, resourceVersion } of plan.remove) {
    try {
      await client.request('DELETE', objectPath(coreResources.configMaps, name, namespace), {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { resourceVersion } },
      });
      result.writes += 1;
    } catch (error) {
      if (!(error instanceof KubeApiError && error.status === 404)) throw error;
    }
  }
  return result;
}
