import { z } from 'zod';
import { durationMs } from './duration.ts';
import { ageColumn, type KindDefinition, objectSchema, readyColumn } from './kind.ts';
import { baseStatusFields, objectNameSchema } from './meta.ts';
import { duration } from './rules.ts';
import { authorityKindSchema } from './trustdomain.ts';

export const revocationReasonSchema = z.enum([
  'KeyCompromise',
  'KeyStorageLost',
  'PolicyChange',
  'Superseded',
]);

/** Long enough for kubelets to refresh mounted Secrets before the old key stops verifying. */
export const DEFAULT_GRACE_PERIOD = '2m';
/**
 * How long a revocation waits for Trustline to re-issue before it moves on without the SVIDs it could
 * not re-issue. A KeyCompromise waits one re-issue pass; the others give tenants time to repair.
 */
export const DEFAULT_REISSUE_TIMEOUT = '10m';
export const KEY_COMPROMISE_REISSUE_TIMEOUT = '1m';
/** How many withdrawn or unwritable SVIDs the status names; the counts cover the rest. */
export const MAX_NAMED_SVIDS = 20;

export const keyRevocationSpecSchema = z
  .object({
    trustDomainRef: z.object({ name: objectNameSchema.describe('Name of the TrustDomain object.') }),
    authority: z.object({
      kind: authorityKindSchema,
      id: z
        .string()
        .min(1)
        .max(256)
        .describe('Subject key id (hex) of an X.509 authority, or the kid of a JWT authority.'),
    }),
    reason: revocationReasonSchema,
    gracePeriod: duration({
      min: '0s',
      max: '168h',
      description: 'How long relying parties keep trusting the key after every SVID is re-issued.',
    })
      .optional()
      .describe(`${DEFAULT_GRACE_PERIOD} if unset; 0s for KeyCompromise.`),
    reissueTimeout: duration({
      min: '0s',
      max: '168h',
      description:
        'How long the revocation waits for the SVIDs of the key to be re-issued before it withdraws those it cannot re-issue and goes on without them. SVIDs a tenant made un-re-issuable (a Secret that cannot be written) are waited for only this long; a KeyCompromise never waits for them.',
    })
      .optional()
      .describe(`${DEFAULT_REISSUE_TIMEOUT} if unset; ${KEY_COMPROMISE_REISSUE_TIMEOUT} for KeyCompromise.`),
  })
  .meta({
    'x-kubernetes-validations': [
      { rule: 'self == oldSelf', message: 'spec is immutable: create a new KeyRevocation instead' },
    ],
  });

export const revocationPhaseSchema = z.enum(['Pending', 'Tainted', 'Revoked', 'Failed']);

const instant = (description: string) => z.string().optional().describe(description);

export const keyRevocationStatusSchema = z.object({
  ...baseStatusFields,
  phase: revocationPhaseSchema.optional(),
  validatedAt: instant('When the target was found and the revocation accepted.'),
  rotatedAt: instant('When a replacement took over signing from the target, if the target was signing.'),
  replacedBy: z.string().optional().describe('The authority that signs instead of the target.'),
  taintedAt: instant('When the target was tainted: from then on everything it signed is re-issued.'),
  reissuedAt: instant('When no SVID signed by the target was left.'),
  revokedAt: instant('When the target left every bundle and its private key was destroyed.'),
  affectedSVIDs: z.int().min(0).optional().describe('SVIDs signed by the target when it was tainted.'),
  reissuedSVIDs: z.int().min(0).optional().describe('Of those, how many have been re-issued.'),
  outstandingPodCertificates: z
    .int()
    .min(0)
    .optional()
    .describe(
      'Certificates the target signed for podCertificate volumes whose refresh time has not come: a grace period waits for them, KeyCompromise does not.',
    ),
  withdrawnSVIDs: z
    .int()
    .min(0)
    .optional()
    .describe('Secrets whose SVID of the target Trustline withdrew instead of re-issuing it.'),
  withdrawn: z
    .array(z.string())
    .max(MAX_NAMED_SVIDS)
    .optional()
    .describe(`The RegistrationEntries (namespace/name) of the first ${MAX_NAMED_SVIDS} withdrawn SVIDs.`),
  unwritableSVIDs: z
    .int()
    .min(0)
    .optional()
    .describe(
      'Secrets holding an SVID of the target that cannot be written (immutable, quota): the revocation does not wait for them.',
    ),
  unwritable: z
    .array(z.string())
    .max(MAX_NAMED_SVIDS)
    .optional()
    .describe(`The RegistrationEntries (namespace/name) of the first ${MAX_NAMED_SVIDS} unwritable Secrets.`),
});

export const keyRevocationKind = {
  kind: 'KeyRevocation',
  singular: 'keyrevocation',
  plural: 'keyrevocations',
  shortNames: ['krev'],
  scope: 'Cluster',
  description: 'Cuts off one signing authority of a trust domain; immutable once created.',
  spec: keyRevocationSpecSchema,
  status: keyRevocationStatusSchema,
  printerColumns: [
    { name: 'Trust Domain', type: 'string', jsonPath: '.spec.trustDomainRef.name' },
    { name: 'Kind', type: 'string', jsonPath: '.spec.authority.kind' },
    { name: 'Authority', type: 'string', jsonPath: '.spec.authority.id' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Reissued', type: 'integer', jsonPath: '.status.reissuedSVIDs', priority: 1 },
    readyColumn,
    ageColumn,
  ],
} satisfies KindDefinition<typeof keyRevocationSpecSchema, typeof keyRevocationStatusSchema>;

export const keyRevocationSchema = objectSchema(keyRevocationKind);
export type KeyRevocation = z.infer<typeof keyRevocationSchema>;
export type RevocationReason = z.infer<typeof revocationReasonSchema>;
export type KeyRevocationSpec = z.infer<typeof keyRevocationSpecSchema>;
export type KeyRevocationStatus = z.infer<typeof keyRevocationStatusSchema>;

/** How long a revocation waits for re-issuing before it goes on without what is left. */
export const reissueTimeoutMs = (spec: Pick<KeyRevocationSpec, 'reissueTimeout' | 'reason'>): number =>
  durationMs(
    spec.reissueTimeout ??
      (spec.reason === 'KeyCompromise' ? KEY_COMPROMISE_REISSUE_TIMEOUT : DEFAULT_REISSUE_TIMEOUT),
  );

/** How long the revoked key stays trusted after every SVID is re-issued. */
export const gracePeriodMs = (spec: Pick<KeyRevocationSpec, 'gracePeriod' | 'reason'>): number =>
  spec.gracePeriod !== undefined
    ? durationMs(spec.gracePeriod)
    : spec.reason === 'KeyCompromise'
      ? 0
      : durationMs(DEFAULT_GRACE_PERIOD);
