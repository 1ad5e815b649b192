import { z } from 'zod';
import { isPodMode, type PodModeEntry, registrationEntrySchema } from '../../api/registrationentry.ts';
import type { SelectablePod } from '../../core/podcert/selection.ts';
import { cachedParse } from '../../kube/cached-parse.ts';
import type { Informer, KubeObject } from '../../kube/informer.ts';

const podSchema = z.object({
  metadata: z.object({
    name: z.string(),
    namespace: z.string(),
    uid: z.string(),
    labels: z.record(z.string(), z.string()).optional(),
    deletionTimestamp: z.string().optional(),
  }),
  spec: z.object({
    serviceAccountName: z.string().optional(),
    nodeName: z.string().optional(),
    volumes: z
      .array(
        z.object({
          projected: z
            .object({
              sources: z
                .array(
                  z.object({
                    podCertificate: z
                      .object({
                        signerName: z.string(),
                        userAnnotations: z.record(z.string(), z.string()).optional(),
                      })
                      .optional(),
                  }),
                )
                .optional(),
            })
            .optional(),
        }),
      )
      .optional(),
  }),
});
export type Pod = z.infer<typeof podSchema>;

export const parsePod = (object: unknown): Pod | undefined => podSchema.safeParse(object).data;

/**
 * What the pod cache keeps of a pod: its identity, labels, deletion, service account, node and
 * podCertificate volumes.
 */
export function slimPod(object: KubeObject): KubeObject {
  const pod = podSchema.safeParse(object).data;
  if (!pod) return { metadata: object.metadata };
  const { name, namespace, uid, labels, resourceVersion, creationTimestamp, deletionTimestamp } =
    object.metadata;
  const sources = (pod.spec.volumes ?? [])
    .flatMap((volume) => volume.projected?.sources ?? [])
    .filter((source) => source.podCertificate !== undefined);
  return {
    metadata: { name, namespace, uid, labels, resourceVersion, creationTimestamp, deletionTimestamp },
    spec: {
      serviceAccountName: pod.spec.serviceAccountName,
      nodeName: pod.spec.nodeName,
      volumes: sources.length > 0 ? [{ projected: { sources } }] : [],
    },
  };
}

/** A pod as selection sees it, with the user annotations of its podCertificate volume for `signerName`. */
export function selectablePod(pod: Pod, signerName: string): SelectablePod {
  const volume = (pod.spec.volumes ?? [])
    .flatMap((v) => v.projected?.sources ?? [])
    .find((source) => source.podCertificate?.signerName === signerName);
  return {
    namespace: pod.metadata.namespace,
    name: pod.metadata.name,
    uid: pod.metadata.uid,
    serviceAccountName: pod.spec.serviceAccountName ?? 'default',
    labels: pod.metadata.labels ?? {},
    userAnnotations: volume?.podCertificate?.userAnnotations ?? {},
    mountsSigner: volume !== undefined,
  };
}

/** Each cached entry parsed once: every pod-mode reconcile of a namespace reads all of its entries. */
const readEntry = cachedParse(registrationEntrySchema);

/** The pod-mode entries of a namespace that a TrustDomain object issues for, as selection wants them. */
export function podEntriesIn(
  entries: Pick<Informer, 'byNamespace'>,
  namespace: string,
  trustDomainObject: string,
) {
  return entries.byNamespace(namespace).flatMap((object) => {
    const entry = readEntry(object);
    if (!entry || !isPodMode(entry) || entry.spec.trustDomainRef.name !== trustDomainObject) return [];
    if (entry.metadata.deletionTimestamp) return [];
    return [asPodEntry(entry)];
  });
}

export const asPodEntry = (entry: PodModeEntry) => ({
  name: entry.metadata.name,
  creationTimestamp: entry.metadata.creationTimestamp ?? '',
  workloadSelector: entry.spec.workloadSelector,
  entry,
});
