import { z } from 'zod';
import { objectMetaSchema } from '../../api/meta.ts';

/**
 * A PodCertificateRequest as Trustline reads it, in any served version: certificates.k8s.io/v1 carries
 * the key in stubPKCS10Request, v1beta1 in stubPKCS10Request (1.36) or pkixPublicKey (1.35).
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

/** The condition types that end a request; the API allows at most one, and never changes it after. */
export const TERMINAL_CONDITIONS = ['Issued', 'Denied', 'Failed'] as const;

export const isSettled = (request: PodCertificateRequest): boolean =>
  Boolean(request.status?.certificateChain) ||
  (request.status?.conditions ?? []).some(
    (condition) =>
      (TERMINAL_CONDITIONS as readonly string[]).includes(condition.type) && condition.status === 'True',
  );
