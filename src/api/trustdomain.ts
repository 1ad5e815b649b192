import { z } from 'zod';
import { SIGNER_DOMAIN } from './group.ts';
import { ageColumn, type KindDefinition, objectSchema, readyColumn, reasonColumn } from './kind.ts';
import { baseStatusFields, labelSelectorSchema, objectNameSchema } from './meta.ts';
import { dnsLabelLengthRule, duration, withRules } from './rules.ts';

/** SPIFFE trust domain name rules, each with the message a user sees when it fails. */
export const trustDomainNameSchema = withRules(
  z.string().min(1).max(255).describe('The SPIFFE trust domain name, such as example.org.'),
  [
    {
      cel: "!self.contains('://')",
      message:
        'must be a bare trust domain name without a scheme: write example.org, not spiffe://example.org',
      holds: (v) => !v.includes('://'),
    },
    {
      cel: "self.contains('://') || !self.contains(':')",
      message: 'must not include a port',
      holds: (v) => v.includes('://') || !v.includes(':'),
    },
    {
      cel: "self.contains('://') || !self.contains('/')",
      message: 'must not include a path',
      holds: (v) => v.includes('://') || !v.includes('/'),
    },
    {
      cel: 'self == self.lowerAscii()',
      message: 'must be lower case',
      holds: (v) => v === v.toLowerCase(),
    },
    {
      cel: "self.contains(':') || self.contains('/') || self != self.lowerAscii() || self.matches('^[a-z0-9._-]+$')",
      message: "may only contain lower case letters, digits, '.', '-' and '_'",
      holds: (v) => /[:/]/.test(v) || v !== v.toLowerCase() || /^[a-z0-9._-]+$/.test(v),
    },
    {
      // A transition rule: only the apiserver sees the old value, so the operator has nothing to check.
      cel: 'self == oldSelf',
      message:
        'is immutable: the journal of keys belongs to the trust domain name; create a new TrustDomain for another name',
      holds: () => true,
    },
  ],
);

export const x509KeyTypeSchema = z.enum(['EC-P256', 'EC-P384', 'RSA-2048', 'RSA-3072', 'RSA-4096']);
export type X509KeyType = z.infer<typeof x509KeyTypeSchema>;
export const jwtAlgorithmSchema = z.enum([
  'ES256',
  'ES384',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
]);
export type JwtAlgorithm = z.infer<typeof jwtAlgorithmSchema>;

/**
 * The X.509 floors are low so short-lived trust domains can exercise whole rotations in minutes; a CA
 * lifetime under 6 times the SVID lifetimes it serves is refused by the operator, whatever the numbers.
 */
export const x509SvidTtl = () =>
  duration({ min: '10s', max: '8760h', description: 'Lifetime of an X.509-SVID.' });
/** A JWT-SVID kept in a Secret must outlive the kubelet's Secret refresh, hence the 10m floor. */
export const jwtSvidTtl = () => duration({ min: '10m', max: '24h', description: 'Lifetime of a JWT-SVID.' });
const authorityTtl = (description: string) => duration({ min: '1m', max: '87600h', description });

/** A grant's path prefix: absolute and without empty segments, so whole-segment matching means what it says. */
const spiffeIDPathPrefixSchema = withRules(z.string().max(2048), [
  { cel: "self.startsWith('/')", message: 'must start with /', holds: (v) => v.startsWith('/') },
  {
    cel: "!self.contains('//')",
    message: 'must not contain an empty path segment (//)',
    holds: (v) => !v.includes('//'),
  },
]);

const claimGrantSchema = z.object({
  namespaceSelector: labelSelectorSchema.describe('The namespaces this grant applies to.'),
  spiffeIDPathPrefixes: z
    .array(spiffeIDPathPrefixSchema)
    .max(64)
    .optional()
    .describe('SPIFFE ID paths these namespaces may claim, matched by whole path segments.'),
  dnsNames: z
    .array(withRules(z.string().max(253), [dnsLabelLengthRule]))
    .max(64)
    .optional()
    .describe('DNS names these namespaces may claim; a leading "*." matches one label.'),
});

/** The spec fields without the cross-field rules, for the partial schemas controllers derive with .pick(). */
export const trustDomainSpecFields = z.object({
  trustDomain: trustDomainNameSchema,
  ca: z
    .object({
      keyType: x509KeyTypeSchema.default('EC-P256').describe('Key type of the X.509 signing authorities.'),
      ttl: authorityTtl('Lifetime of an X.509 authority.').default('24h'),
      uriNameConstraint: z
        .boolean()
        .default(false)
        .describe(
          'Adds a critical URI name constraint to new X.509 authorities, permitting only URIs of the trust domain host. Off by default: some verifiers (rustls-webpki 0.103.12 and later) reject any chain carrying one.',
        ),
    })
    .prefault({}),
  jwt: z
    .object({
      algorithm: jwtAlgorithmSchema.default('ES256').describe('Signing algorithm of the JWT authorities.'),
      ttl: authorityTtl('Lifetime of a JWT signing key.').default('24h'),
      issuer: withRules(
        z
          .string()
          .max(2048)
          .regex(/^https:\/\/[^\s]+$/, 'must be an https URL'),
        [
          {
            // OpenID Connect Discovery: the issuer has no query or fragment components.
            cel: "!self.contains('?') && !self.contains('#')",
            message:
              'must have no query (?) or fragment (#): an OIDC issuer is a scheme, host and optional path',
            holds: (v) => !v.includes('?') && !v.includes('#'),
          },
        ],
      )
        .optional()
        .describe('The iss claim of JWT-SVIDs and the issuer of the OIDC discovery document.'),
    })
    .prefault({}),
  svid: z
    .object({
      x509TTL: x509SvidTtl().default('1h'),
      maxX509TTL: x509SvidTtl()
        .optional()
        .describe(
          'The longest X.509-SVID lifetime any entry of this trust domain gets; longer requests are capped. A sixth of ca.ttl if unset, and never more.',
        ),
      minX509TTL: x509SvidTtl()
        .default('10s')
        .describe('The shortest X.509-SVID lifetime an entry may ask for; an entry asking less is refused.'),
      allowedKeyTypes: z
        .array(x509KeyTypeSchema)
        .min(1)
        .max(5)
        .meta({ 'x-kubernetes-list-type': 'set' })
        .optional()
        .describe(
          'The X.509-SVID key types entries and PodCertificateRequests may use; all if unset. Others are refused.',
        ),
      jwtTTL: jwtSvidTtl().default('30m'),
      renewalPercentage: z
        .int()
        .min(10)
        .max(90)
        .default(50)
        .describe("How much of an SVID's lifetime passes before it is renewed, in percent (with jitter)."),
    })
    .prefault({}),
  upstream: z
    .object({
      secretName: objectNameSchema.describe(
        "A Secret in the operator's namespace holding tls.crt, tls.key and ca.crt of the upstream CA.",
      ),
    })
    .optional(),
  bundle: z
    .object({
      configMapName: objectNameSchema
        .optional()
        .describe('Name of the bundle ConfigMap; <name>-trust-bundle if unset.'),
      namespaceSelector: labelSelectorSchema
        .optional()
        .describe('Namespaces that receive the bundle; all if unset.'),
    })
    .prefault({}),
  issuance: z
    .object({
      namespaceSelector: labelSelectorSchema
        .optional()
        .describe(
          'Namespaces whose RegistrationEntries and pods may hold identities of this trust domain; bundle.namespaceSelector if unset, every namespace if both are unset.',
        ),
    })
    .optional()
    .describe('Which namespaces may hold identities of this trust domain, apart from who gets its bundle.'),
  oidc: z
    .object({
      configMapName: objectNameSchema.describe('Name of the OIDC discovery ConfigMap.'),
      namespace: objectNameSchema.describe('Namespace of the OIDC discovery ConfigMap.'),
    })
    .optional(),
  podCertificates: z
    .object({
      signerName: z
        .string()
        .max(253)
        .regex(
          new RegExp(`^${SIGNER_DOMAIN.replaceAll('.', '\\.')}/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`),
          `must be ${SIGNER_DOMAIN}/ followed by a lower case DNS name`,
        )
        .optional()
        .describe(
          `The signer kubelets name in podCertificate volumes; ${SIGNER_DOMAIN}/<TrustDomain name> if unset.`,
        ),
    })
    .prefault({}),
  grants: z
    .array(claimGrantSchema)
    .max(32)
    .optional()
    .describe('SPIFFE ID paths and DNS names that selected namespaces may claim beyond their own.'),
});

export const trustDomainSpecSchema = withRules(trustDomainSpecFields, [
  {
    cel: '!has(self.oidc) || has(self.jwt.issuer)',
    message: 'oidc needs jwt.issuer: the discovery document names the issuer',
    holds: (spec) => spec.oidc === undefined || spec.jwt.issuer !== undefined,
  },
]);

export const authorityStateSchema = z.enum(['Prepared', 'Active', 'Old', 'Tainted', 'Revoked']);
export const authorityKindSchema = z.enum(['X509', 'UpstreamX509', 'JWT']);
export type AuthorityKind = z.infer<typeof authorityKindSchema>;

export const trustDomainStatusSchema = z.object({
  ...baseStatusFields,
  expiresAt: z.string().optional().describe('When the active X.509 authority expires.'),
  bundleSequence: z.int().min(0).optional(),
  bundleNamespaces: z.int().min(0).optional().describe('How many namespaces hold the bundle ConfigMap.'),
  foreignBundleNamespaces: z
    .array(z.string())
    .optional()
    .describe('Namespaces where a ConfigMap of the bundle name exists that Trustline did not create.'),
  authorities: z
    .array(
      z.object({
        id: z.string(),
        kind: authorityKindSchema,
        state: authorityStateSchema,
        notBefore: z.string(),
        notAfter: z.string(),
        upstreamSigned: z.boolean().optional(),
      }),
    )
    .optional(),
  revocations: z
    .array(
      z.object({
        keyRevocation: z.string(),
        kind: authorityKindSchema,
        id: z.string(),
        state: z.enum(['Tainted', 'Revoked']),
        taintedAt: z.string(),
        revokedAt: z.string().optional(),
      }),
    )
    .optional()
    .describe('Authorities cut off by KeyRevocations: tainted while SVIDs are re-issued, then revoked.'),
});

export const trustDomainKind = {
  kind: 'TrustDomain',
  singular: 'trustdomain',
  plural: 'trustdomains',
  shortNames: ['td'],
  scope: 'Cluster',
  description:
    'A SPIFFE trust domain: its signing authorities, SVID defaults, trust bundle and claim policy.',
  spec: trustDomainSpecSchema,
  status: trustDomainStatusSchema,
  printerColumns: [
    { name: 'Trust Domain', type: 'string', jsonPath: '.spec.trustDomain' },
    readyColumn,
    reasonColumn,
    { name: 'Expires', type: 'date', jsonPath: '.status.expiresAt' },
    ageColumn,
  ],
} satisfies KindDefinition<typeof trustDomainSpecSchema, typeof trustDomainStatusSchema>;

export const trustDomainSchema = objectSchema(trustDomainKind);
export type TrustDomain = z.infer<typeof trustDomainSchema>;

const claimSchema = z.object({ spec: z.object({ trustDomain: z.string() }) });

/** The trust domain name a TrustDomain object claims, read without validating the rest of it. */
export const claimedTrustDomain = (object: unknown): string | undefined =>
  claimSchema.safeParse(object).data?.spec.trustDomain;
export type TrustDomainSpec = z.infer<typeof trustDomainSpecSchema>;

/** The PodCertificateRequest signer a TrustDomain answers for. */
export const signerNameOf = (trustDomain: {
  metadata: { name: string };
  spec: { podCertificates?: { signerName?: string | undefined } | undefined };
}): string => trustDomain.spec.podCertificates?.signerName ?? `${SIGNER_DOMAIN}/${trustDomain.metadata.name}`;
