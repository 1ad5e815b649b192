import { z } from 'zod';
import { jwtAlgorithmSchema, x509KeyTypeSchema } from '../../api/trustdomain.ts';

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
   * chain (PEM, leaf first) that SVIDs carry after this certificate, and the upstream signer's id.
   */
  upstream: z
    .object({
      signerId: z.string().min(1),
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
  type: z.enum(['X509', 'UpstreamX509', 'JWT']),
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

export const journalSchema = z.object({
  version: z.literal(1),
  trustDomain: z.string().min(1),
  authorities: z.array(authoritySchema),
  revoked: z.array(revokedAuthoritySchema),
  bundle: publishedBundleSchema,
});
export type Journal = z.infer<typeof journalSchema>;

export const emptyJournal = (trustDomain: string): Journal => ({
  version: 1,
  trustDomain,
  authorities: [],
  revoked: [],
  bundle: { sequence: 0, contentHash: '' },
});

/** How long a new authority of each type lives, and what key it uses: read from the TrustDomain spec. */
export interface AuthorityPolicy {
  x509: { keyType: z.infer<typeof x509KeyTypeSchema>; ttlMs: number };
  jwt: { algorithm: z.infer<typeof jwtAlgorithmSchema>; ttlMs: number };
}
