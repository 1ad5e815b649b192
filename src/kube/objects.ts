import { z } from 'zod';
import { objectMetaSchema } from '../api/meta.ts';

/** The Kubernetes objects Trustline reads, as it reads them: the fields it uses, the rest kept as it came. */

/** Any object read from the cluster: metadata checked here, the rest by the controller's own schema. */
export const kubeObjectSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: objectMetaSchema,
});
export type KubeObject = z.infer<typeof kubeObjectSchema>;

export const objectKey = (object: KubeObject): string =>
  object.metadata.namespace ? `${object.metadata.namespace}/${object.metadata.name}` : object.metadata.name;

/** A ConfigMap or Secret: metadata and string data. */
export const dataObjectSchema = z.object({
  metadata: objectMetaSchema,
  data: z.record(z.string(), z.string()).optional(),
});
export type DataObject = z.infer<typeof dataObjectSchema>;

/** A Secret's data, base64-decoded to UTF-8 text (Trustline's Secrets hold PEM, JSON and JWTs). */
export const decodeSecretData = (data: Readonly<Record<string, string>> = {}): Record<string, string> =>
  Object.fromEntries(
    Object.entries(data).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]),
  );

/** A Namespace: its name, labels (grants and bundles select by them) and deletion. */
export const namespaceSchema = z.object({ metadata: objectMetaSchema });

/** A pod: identity, labels, deletion, service account, node and its podCertificate volumes. */
export const podSchema = z.object({
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
 * A PodCertificateRequest in any served version: certificates.k8s.io/v1 carries the key in
 * stubPKCS10Request, v1beta1 in stubPKCS10Request (1.36) or pkixPublicKey (1.35).
 */
export const podCertificateRequestSchema = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: objectMetaSchema,
  spec: z.looseObject({
    signerName: z.string(),
    podName: z.string(),
    podUID: z.string(),
    serviceAccountName: z.string(),
    serviceAccountUID: z.string(),
    nodeName: z.string(),
    maxExpirationSeconds: z.int().min(1).default(86_400),
    stubPKCS10Request: z.string().optional(),
    pkixPublicKey: z.string().optional(),
    unverifiedUserAnnotations: z.record(z.string(), z.string()).optional(),
  }),
  status: z
    .looseObject({
      conditions: z.array(z.looseObject({ type: z.string(), status: z.string() })).optional(),
      certificateChain: z.string().optional(),
    })
    .optional(),
});
export type PodCertificateRequest = z.infer<typeof podCertificateRequestSchema>;

/** A ClusterTrustBundle: its signer and the PEM bundle. */
export const clusterTrustBundleSchema = z.object({
  metadata: objectMetaSchema,
  spec: z.object({ signerName: z.string().optional(), trustBundle: z.string() }),
});

/** A ServiceAccount: only its UID, which a PodCertificateRequest must name. */
export const serviceAccountSchema = z.object({ metadata: z.object({ uid: z.string() }) });
