import { API_VERSION } from '../../api/group.ts';
import {
  ANNOTATION_EMPTIED,
  LABEL_CONTENT,
  LABEL_MANAGED_BY,
  LABEL_TRUST_DOMAIN_OBJECT,
  MANAGED_BY_TRUSTLINE,
} from '../../api/well-known.ts';
import { labelValueFor } from '../../core/labels.ts';
import { type Publication, type PublishedCopy, planPublication } from '../../core/publication.ts';
import { inSlices } from '../../core/time-slice.ts';
import { applyDerived, type DerivedObject, type Known, type Requester } from '../../kube/apply.ts';
import { KubeApiError } from '../../kube/errors.ts';
import type { KubeObject } from '../../kube/informer.ts';
import { type DataObject, dataObjectSchema } from '../../kube/objects.ts';
import { coreResources } from '../../kube/resources.ts';

export type { Publication } from '../../core/publication.ts';

const isOwnedBy = (object: DataObject, owner: Publication['owner'], content: string) =>
  object.metadata.labels?.[LABEL_MANAGED_BY] === MANAGED_BY_TRUSTLINE &&
  object.metadata.labels?.[LABEL_TRUST_DOMAIN_OBJECT] === labelValueFor(owner.name) &&
  object.metadata.labels?.[LABEL_CONTENT] === content;

const ownerUidOf = (object: DataObject) =>
  object.metadata.ownerReferences?.find((reference) => reference.kind === 'TrustDomain')?.uid;

/**
 * Whether Trustline made this ConfigMap for the owner: its labels, or, for a copy whose labels someone
 * stripped, the ownerReference Trustline gave it. Such a copy is put back, never left holding a key.
 */
const madeFor = (object: DataObject, owner: Publication['owner'], content: string) =>
  isOwnedBy(object, owner, content) || (owner.uid !== '' && ownerUidOf(object) === owner.uid);

/**
 * The copies of a publication among the cached ConfigMaps Trustline manages: one a namespace, so
 * possibly thousands, read in slices that let the event loop turn.
 */
export async function publishedCopies(
  configMaps: readonly KubeObject[],
  owner: Publication['owner'],
  content: string,
): Promise<PublishedCopy[]> {
  const copies: PublishedCopy[] = [];
  for await (const object of inSlices(configMaps)) {
    const configMap = dataObjectSchema.safeParse(object);
    if (!configMap.success || !isOwnedBy(configMap.data, owner, content)) continue;
    const { metadata, data = {} } = configMap.data;
    copies.push({
      namespace: metadata.namespace ?? '',
      name: metadata.name,
      resourceVersion: metadata.resourceVersion ?? '',
      ...(metadata.uid === undefined ? {} : { uid: metadata.uid }),
      data,
      ownerUid: ownerUidOf(configMap.data),
    });
  }
  return copies;
}

/** The ConfigMap Trustline keeps for a publication in one namespace; an emptied copy under `emptied`. */
function derivedConfigMap(
  publication: Publication,
  namespace: string,
  emptied?: { name: string },
): DerivedObject {
  return {
    resource: coreResources.configMaps,
    manifest: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: emptied?.name ?? publication.name,
        namespace,
        ...(emptied === undefined
          ? {}
          : { annotations: { [ANNOTATION_EMPTIED]: 'the TrustDomain no longer publishes here' } }),
        labels: {
          [LABEL_MANAGED_BY]: MANAGED_BY_TRUSTLINE,
          [LABEL_TRUST_DOMAIN_OBJECT]: labelValueFor(publication.owner.name),
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
      data: emptied === undefined ? publication.data : {},
    },
    owns: (object) => {
      const configMap = dataObjectSchema.safeParse(object);
      return configMap.success && madeFor(configMap.data, publication.owner, publication.content);
    },
    removable: { data: true, annotations: (key) => key === ANNOTATION_EMPTIED },
  };
}

export interface PublicationResult {
  /** Namespaces where a ConfigMap of that name exists that Trustline did not create. */
  foreign: string[];
  /** Namespaces where a write failed, with the apiserver's words; retried on the next reconcile. */
  failed: { namespace: string; message: string }[];
  writes: number;
}

/**
 * Brings the cluster to the publication: puts back, creates and empties copies, and writes nothing
 * where a copy already matches. A ConfigMap of the same name that Trustline did not create is left
 * untouched and reported; one it created whose labels were stripped is put back. A namespace whose write fails (a quota, a webhook, a namespace going away)
 * is reported and does not hold up the others. `afterWrite` runs after each write (a failpoint in tests).
 */
export async function publish(
  client: Requester,
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
  const result: PublicationResult = { foreign: [], failed: [], writes: 0 };
  const attempt = async (namespace: string, write: () => Promise<boolean>) => {
    try {
      if (await write()) {
        result.writes += 1;
        afterWrite();
      }
    } catch (error) {
      if (!(error instanceof KubeApiError)) throw error;
      result.failed.push({ namespace, message: error.message });
    }
  };
  const write = async (namespace: string, known: Known | undefined, emptied?: { name: string }) => {
    const outcome = await applyDerived(client, derivedConfigMap(publication, namespace, emptied), known, {
      // Gone with its namespace: nothing is left to empty.
      create: emptied === undefined,
    });
    if (outcome.kind === 'foreign' && emptied === undefined) result.foreign.push(namespace);
    return outcome.kind === 'written';
  };
  // Copies that exist first: they are what relying parties read now.
  for (const { namespace, resourceVersion, uid } of plan.update)
    await attempt(namespace, () =>
      write(namespace, uid === undefined ? undefined : { uid, resourceVersion }),
    );
  for (const namespace of plan.create) await attempt(namespace, () => write(namespace, undefined));
  for (const { namespace, name, resourceVersion, uid } of plan.empty) {
    await attempt(namespace, () =>
      write(namespace, uid === undefined ? undefined : { uid, resourceVersion }, { name }),
    );
  }
  return result;
}
