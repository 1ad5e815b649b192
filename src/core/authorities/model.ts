import { z } from 'zod';
import { revocationReasonSchema } from '../../api/keyrevocation.ts';
import { authorityKindSchema, jwtAlgorithmSchema, x509KeyTypeSchema } from '../../api/trustdomain.ts';

/**
 * The signing authorities of one trust domain as Trustline keeps them in its journal. The journal is
 * the truth: status and the published bundle are views of it.
 */

/** Which lifecycle an authority follows. Upstream roots are not Trustline's and have no record here. */
export const authorityTypeSchema = z.enum(['X509', 'JWT']);
export type AuthorityType = z.infer<typeof authorityTypeSchema>;

/**
 * Prepared: published, not yet signing. Active: the one that signs. Old: retired, published until it
 * expires so everything it signed stays verifiable. Tainted: published, but everything it signed is
 * re-signed. Revoked: never published again.
 */
export const lifecycleStateSchema = z.enum(['Prepared', 'Active', 'Old', 'Tainted', 'Revoked']);
export type LifecycleState = z.infer<typeof lifecycleStateSchema>;

const instantSchema = z.iso.datetime();

const authorityBase = {
  /** X.509: the subject key identifier as lower-case hex. JWT: the `kid`. */
  id: z.string().min(1),
  state: lifecycleStateSchema,
  notBefore: instantSchema,
  notAfter: instantSchema,
  /** PKCS#8 PEM. Lives only in the journal Secret. */
  privateKey: z.string().min(1),
};

export const x509AuthoritySchema = z.object({
  ...authorityBase,
  type: z.literal('X509'),
  keyType: x509KeyTypeSchema,
  /** The CA certificate, PEM. */
  certificate: z.string().min(1),
  /**
   * Present when an upstream CA signed this authority: the upstream signing certificate and its
   * chain (PEM, leaf first) that SVIDs carry after this certificate, the upstream signer's id, and
   * the id of the upstream root that chain ends at.
   */
  upstream: z
    .object({
      signerId: z.string().min(1),
      rootId: z.string().min(1),
      chain: z.array(z.string().min(1)),
    })
    .optional(),
});
export type X509Authority = z.infer<typeof x509AuthoritySchema>;

export const jwtAuthoritySchema = z.object({
  ...authorityBase,
  type: z.literal('JWT'),
  algorithm: jwtAlgorithmSchema,
  /** The public key as a JWK, without `kid`, `alg` or `use`. */
  publicKey: z.looseObject({ kty: z.string() }),
});
export type JwtAuthority = z.infer<typeof jwtAuthoritySchema>;

export const authoritySchema = z.discriminatedUnion('type', [x509AuthoritySchema, jwtAuthoritySchema]);
export type Authority = z.infer<typeof authoritySchema>;

/** When an authority was cut off, kept after its record is pruned so it is never published again. */
export const revokedAuthoritySchema = z.object({
  type: authorityKindSchema,
  id: z.string().min(1),
});
export type RevokedAuthority = z.infer<typeof revokedAuthoritySchema>;

/** What the journal remembers of the published bundle, so the sequence moves only when content does. */
export const publishedBundleSchema = z.object({
  sequence: z.int().min(0),
  /** Hash of the bundle content without the sequence. */
  contentHash: z.string(),
  /** The published bundle.pem, which SVID Secrets carry as their ca.crt. */
  pem: z.string().optional(),
});

/**
 * One KeyRevocation as the journal carries it out, from taint to revoke. Kept after the revocation
 * completes, so its outcome survives restarts and the KeyRevocation object's deletion.
 */
export const revocationRecordSchema = z.object({
  /** The KeyRevocation object's name. */
  requestedBy: z.string().min(1),
  kind: authorityKindSchema,
  id: z.string().min(1),
  reason: revocationReasonSchema,
  gracePeriodMs: z.int().min(0),
  /** How long after taintedAt it waits for re-issuing; unset in records older than the field. */
  reissueTimeoutMs: z.int().min(0).optional(),
  /** The authorities whose SVIDs are re-issued: the target, or the intermediates under an upstream root. */
  taintedIds: z.array(z.string().min(1)),
  /** Set when the target was signing, so a replacement was activated in the same write. */
  rotated: z.boolean(),
  /** The authority that signs instead, once known. */
  replacedBy: z.string().min(1).optional(),
  taintedAt: instantSchema,
  /** SVIDs signed by a tainted authority when it was tainted. */
  affectedSVIDs: z.int().min(0),
  /** When no SVID signed by a tainted authority was left, or the revocation stopped waiting for them. */
  reissuedAt: instantSchema.optional(),
  /** SVIDs still unreplaced when the revocation stopped waiting: withdrawn, or named as unwritable. */
  abandonedSVIDs: z.int().min(0).optional(),
  revokedAt: instantSchema.optional(),
});
export type RevocationRecord = z.infer<typeof revocationRecordSchema>;

export const journalSchema = z.object({
  version: z.literal(1),
  trustDomain: z.string().min(1),
  authorities: z.array(authoritySchema),
  revoked: z.array(revokedAuthoritySchema),
  revocations: z.array(revocationRecordSchema).default([]),
  bundle: publishedBundleSchema,
});
export type Journal = z.infer<typeof journalSchema>;

export const emptyJournal = (trustDomain: string): Journal => ({
  version: 1,
  trustDomain,
  authorities: [],
  revoked: [],
  revocations: [],
  bundle: { sequence: 0, contentHash: '' },
});

/** How long a new authority of each type lives, and what key it uses: read from the TrustDomain spec. */
export interface AuthorityPolicy {
  x509: { keyType: z.infer<typeof x509KeyTypeSchema>; ttlMs: number };
  jwt: { algorithm: z.infer<typeof jwtAlgorithmSchema>; ttlMs: number };
}
