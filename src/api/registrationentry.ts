import { z } from 'zod';
import { ageColumn, type KindDefinition, objectSchema, readyColumn, reasonColumn } from './kind.ts';
import { baseStatusFields, objectNameSchema } from './meta.ts';
import { withRules } from './rules.ts';
import { jwtSvidTtl, x509KeyTypeSchema, x509SvidTtl } from './trustdomain.ts';
import { X509_DATA_KEYS } from './well-known.ts';

/** SPIFFE ID path rules (SPIFFE ID spec, section 2.2), each with the message a user sees. */
export const spiffeIDPathSchema = withRules(
  z.string().min(1).max(2048).describe('The path of the SPIFFE ID, such as /ns/shop/sa/cart.'),
  [
    { cel: "self.startsWith('/')", message: 'must start with /', holds: (v) => v.startsWith('/') },
    { cel: "!self.endsWith('/')", message: 'must not end with /', holds: (v) => !v.endsWith('/') },
    {
      cel: "!self.contains('//')",
      message: 'must not contain an empty path segment',
      holds: (v) => !v.includes('//'),
    },
    {
      cel: "!self.matches('(^|/)[.][.]?(/|$)')",
      message: "must not contain a '.' or '..' path segment",
      holds: (v) => !/(^|\/)\.\.?(\/|$)/.test(v),
    },
    {
      cel: "self.matches('^[/A-Za-z0-9._-]*$')",
      message: "path segments may only contain letters, digits, '.', '-' and '_'",
      holds: (v) => /^[/A-Za-z0-9._-]*$/.test(v),
    },
  ],
);

export const dnsNameSchema = z
  .string()
  .max(253)
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    'must be a lower case DNS name',
  );

/** Secret data keys: what a pod sees as file names. */
const secretKeySchema = withRules(
  z
    .string()
    .min(1)
    .max(253)
    .regex(/^[-._a-zA-Z0-9]+$/, "must consist of letters, digits, '-', '_' or '.'"),
  [
    {
      cel: `!(self in [${X509_DATA_KEYS.map((key) => `'${key}'`).join(', ')}])`,
      message: `must not be one of the X.509-SVID files: ${X509_DATA_KEYS.join(', ')}`,
      holds: (key) => !(X509_DATA_KEYS as readonly string[]).includes(key),
    },
  ],
);

export const registrationEntrySpecSchema = z.object({
  trustDomainRef: z
    .object({ name: objectNameSchema.describe('Name of the TrustDomain object.') })
    .describe('The TrustDomain that issues this identity.'),
  spiffeIDPath: spiffeIDPathSchema,
  dnsNames: z.array(dnsNameSchema).max(64).optional().describe('DNS names added to the X.509-SVID.'),
  x509: z
    .object({
      ttl: x509SvidTtl().optional().describe('Lifetime of the X.509-SVID; the TrustDomain default if unset.'),
      keyType: x509KeyTypeSchema
        .optional()
        .describe('Key type of the workload key; the TrustDomain CA key type if unset.'),
    })
    .prefault({}),
  jwtSVIDs: z
    .array(
      z.object({
        key: secretKeySchema.describe('The Secret key that holds this JWT-SVID.'),
        audiences: z.array(z.string().min(1).max(1024)).min(1).max(16),
        ttl: jwtSvidTtl().optional().describe('Lifetime of this JWT-SVID; the TrustDomain default if unset.'),
      }),
    )
    .max(16)
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['key'] })
    .optional(),
  secret: z
    .object({
      name: objectNameSchema.describe('Name of the Secret, in the entry namespace, that receives the SVID.'),
      labels: z.record(z.string(), z.string()).optional(),
      annotations: z.record(z.string(), z.string()).optional(),
    })
    .describe('Where the SVID is written.'),
});

export const registrationEntryStatusSchema = z.object({
  ...baseStatusFields,
  spiffeID: z.string().optional(),
  svid: z
    .object({
      serial: z.string(),
      authorityID: z.string(),
      notAfter: z.string(),
      renewAt: z.string(),
    })
    .optional(),
});

export const registrationEntryKind = {
  kind: 'RegistrationEntry',
  singular: 'registrationentry',
  plural: 'registrationentries',
  shortNames: ['re', 'entry'],
  scope: 'Namespaced',
  description: 'One workload identity: a SPIFFE ID, its DNS names and JWT audiences, and where its SVIDs go.',
  spec: registrationEntrySpecSchema,
  status: registrationEntryStatusSchema,
  printerColumns: [
    { name: 'Trust Domain', type: 'string', jsonPath: '.spec.trustDomainRef.name' },
    { name: 'SPIFFE ID', type: 'string', jsonPath: '.status.spiffeID' },
    readyColumn,
    reasonColumn,
    { name: 'Expires', type: 'date', jsonPath: '.status.svid.notAfter' },
    ageColumn,
  ],
} satisfies KindDefinition<typeof registrationEntrySpecSchema, typeof registrationEntryStatusSchema>;

export const registrationEntrySchema = objectSchema(registrationEntryKind);
export type RegistrationEntry = z.infer<typeof registrationEntrySchema>;
export type RegistrationEntrySpec = z.infer<typeof registrationEntrySpecSchema>;
