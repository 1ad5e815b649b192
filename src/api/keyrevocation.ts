import { z } from 'zod';
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
      .describe('2m if unset; 0s for KeyCompromise.'),
  })
  .meta({
    'x-kubernetes-validations': [
      { rule: 'self == oldSelf', message: 'spec is immutable: create a new KeyRevocation instead' },
    ],
  });

export const revocationPhaseSchema = z.enum(['Pending', 'Rotating', 'Tainted', 'Revoked', 'Failed']);

export const keyRevocationStatusSchema = z.object({
  ...baseStatusFields,
  phase: revocationPhaseSchema.optional(),
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
    readyColumn,
    ageColumn,
  ],
} satisfies KindDefinition<typeof keyRevocationSpecSchema, typeof keyRevocationStatusSchema>;

export const keyRevocationSchema = objectSchema(keyRevocationKind);
export type KeyRevocation = z.infer<typeof keyRevocationSchema>;
