import { z } from 'zod';
import { ageColumn, type KindDefinition, objectSchema, readyColumn, reasonColumn } from './kind.ts';
import { baseStatusFields, labelSelectorSchema, objectNameSchema } from './meta.ts';
import { dnsLabelLengthRule, withRules } from './rules.ts';
import { jwtSvidTtl, x509KeyTypeSchema, x509SvidTtl } from './trustdomain.ts';
import { X509_DATA_KEYS } from './well-known.ts';

/** What a pod-delivered entry's SPIFFE ID path may leave to be filled in from the pod it is issued to. */
export const SPIFFE_ID_PLACEHOLDERS = ['{namespace}', '{serviceAccount}', '{podName}'] as const;
/** The path with each placeholder stood in for by one letter, so the path rules see a filled-in ID. */
const celFilled = SPIFFE_ID_PLACEHOLDERS.reduce((cel, p) => `${cel}.replace('${p}', 'x')`, 'self');
const filled = (path: string) => SPIFFE_ID_PLACEHOLDERS.reduce((out, p) => out.replaceAll(p, 'x'), path);

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
      cel: `${celFilled}.matches('^[/A-Za-z0-9._-]*$')`,
      message: `path segments may only contain letters, digits, '.', '-', '_' and the placeholders ${SPIFFE_ID_PLACEHOLDERS.join(', ')}`,
      holds: (v) => /^[/A-Za-z0-9._-]*$/.test(filled(v)),
    },
  ],
);

export const hasPlaceholders = (path: string): boolean =>
  SPIFFE_ID_PLACEHOLDERS.some((placeholder) => path.includes(placeholder));
const celHasPlaceholders = SPIFFE_ID_PLACEHOLDERS.map((p) => `self.spiffeIDPath.contains('${p}')`).join(
  ' || ',
);

export const dnsNameSchema = withRules(
  z
    .string()
    .max(253)
    .regex(
      /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
      'must be a lower case DNS name',
    ),
  [dnsLabelLengthRule],
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

/** Bounds on the labels and annotations an entry asks for on its Secret: a tenant's map cannot grow without end. */
export const MAX_SECRET_MAP_KEYS = 64;
/** A Kubernetes qualified name: a DNS subdomain prefix (253), a slash, and a name (63). */
export const MAX_SECRET_MAP_KEY = 317;
export const MAX_SECRET_ANNOTATION_VALUE = 4096;

function boundedStringMap(what: 'labels' | 'annotations', maxValue: number) {
  const one = what === 'labels' ? 'label' : 'annotation';
  return withRules(
    z
      .record(z.string(), z.string().max(maxValue, `${one} values must be at most ${maxValue} characters`))
      // Counted natively by the apiserver (maxProperties), which also keeps the CEL rule below within
      // its cost budget.
      .refine(
        (map) => Object.keys(map).length <= MAX_SECRET_MAP_KEYS,
        `may hold at most ${MAX_SECRET_MAP_KEYS} ${what}`,
      )
      .meta({ maxProperties: MAX_SECRET_MAP_KEYS }),
    [
      {
        cel: `self.all(key, size(key) <= ${MAX_SECRET_MAP_KEY})`,
        message: `${one} keys must be at most ${MAX_SECRET_MAP_KEY} characters`,
        holds: (map) => Object.keys(map).every((key) => key.length <= MAX_SECRET_MAP_KEY),
      },
    ],
  );
}

const workloadSelectorSchema = withRules(
  z
    .object({
      serviceAccountName: objectNameSchema.optional().describe('Pods that run as this ServiceAccount.'),
      podSelector: labelSelectorSchema.optional().describe('Pods whose labels match.'),
    })
    .describe(
      "Pods in the entry's namespace that receive this identity through podCertificate projected volumes; both parts must match when both are set.",
    ),
  [
    {
      cel: 'has(self.serviceAccountName) || has(self.podSelector)',
      message: 'must name a serviceAccountName, a podSelector, or both',
      holds: (v) => v.serviceAccountName !== undefined || v.podSelector !== undefined,
    },
  ],
);

/** The spec's fields without its rules: partial views of an entry pick from these. */
export const registrationEntrySpecFields = z.object({
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
      labels: boundedStringMap('labels', 63)
        .optional()
        .describe(`Labels of the Secret: at most ${MAX_SECRET_MAP_KEYS}, values of at most 63 characters.`),
      annotations: boundedStringMap('annotations', MAX_SECRET_ANNOTATION_VALUE)
        .optional()
        .describe(
          `Annotations of the Secret: at most ${MAX_SECRET_MAP_KEYS}, values of at most ${MAX_SECRET_ANNOTATION_VALUE} characters.`,
        ),
    })
    .optional()
    .describe('Secret mode: the Secret the SVIDs are written to.'),
  workloadSelector: workloadSelectorSchema.optional(),
});

export const registrationEntrySpecSchema = withRules(registrationEntrySpecFields, [
  {
    cel: 'has(self.secret) != has(self.workloadSelector)',
    message: 'must set exactly one of secret (Secret mode) and workloadSelector (podCertificate volumes)',
    holds: (spec) => (spec.secret === undefined) !== (spec.workloadSelector === undefined),
  },
  {
    cel: `has(self.workloadSelector) || !(${celHasPlaceholders})`,
    message: `the placeholders ${SPIFFE_ID_PLACEHOLDERS.join(', ')} need a workloadSelector: a Secret serves no one pod`,
    holds: (spec) => spec.workloadSelector !== undefined || !hasPlaceholders(spec.spiffeIDPath),
  },
  {
    cel: '!has(self.workloadSelector) || !has(self.jwtSVIDs)',
    message: 'jwtSVIDs need a secret: podCertificate volumes carry X.509-SVIDs only',
    holds: (spec) => spec.workloadSelector === undefined || spec.jwtSVIDs === undefined,
  },
]);

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
  pods: z
    .object({
      signerName: z.string(),
      selected: z.int().min(0).describe('Pods this entry selects.'),
      served: z.int().min(0).describe('Of those, the pods this entry issues to.'),
      servedByOthers: z
        .array(z.object({ pod: z.string(), entry: z.string() }))
        .max(10)
        .optional()
        .describe('Selected pods another entry serves (the first ten), and which.'),
    })
    .optional()
    .describe('For a workloadSelector: the pods it selects and the signer their kubelets ask.'),
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
/** An entry's name and the TrustDomain it names: what a controller following the reference reads. */
export const registrationEntryRefSchema = registrationEntrySchema
  .pick({ metadata: true })
  .extend({ spec: registrationEntrySpecFields.pick({ trustDomainRef: true }) });
export type RegistrationEntrySpec = z.infer<typeof registrationEntrySpecSchema>;

/** An entry in Secret mode: its SVIDs go to the Secret it names. */
export type SecretModeEntry = RegistrationEntry & {
  spec: { secret: NonNullable<RegistrationEntrySpec['secret']> };
};
export const isSecretMode = (entry: RegistrationEntry): entry is SecretModeEntry =>
  entry.spec.secret !== undefined;

/** An entry that serves pods through podCertificate projected volumes. */
export type PodModeEntry = RegistrationEntry & {
  spec: { workloadSelector: NonNullable<RegistrationEntrySpec['workloadSelector']> };
};
export const isPodMode = (entry: RegistrationEntry): entry is PodModeEntry =>
  entry.spec.workloadSelector !== undefined;
