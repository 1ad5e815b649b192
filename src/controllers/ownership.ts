import { z } from 'zod';
import { signerNameOf } from '../api/trustdomain.ts';
import {
  type OwnershipConflict,
  ownershipConflict,
  type TrustDomainClaim,
} from '../core/trustdomain/conflicts.ts';
import { TrustDomainReason } from '../core/trustdomain/reasons.ts';
import type { Informer } from '../kube/informer.ts';

const claimSchema = z.object({
  metadata: z.object({ name: z.string(), creationTimestamp: z.string().optional() }),
  spec: z.object({
    trustDomain: z.string(),
    podCertificates: z.object({ signerName: z.string().optional() }).optional(),
  }),
});

/**
 * What a TrustDomain object claims, read without validating the rest of it: an object with a spec
 * error still holds its names, so a newer one cannot take them by breaking it.
 */
export function claimOf(object: unknown): TrustDomainClaim | undefined {
  const parsed = claimSchema.safeParse(object).data;
  return (
    parsed && {
      name: parsed.metadata.name,
      trustDomain: parsed.spec.trustDomain,
      signerName: signerNameOf(parsed),
      creationTimestamp: parsed.metadata.creationTimestamp,
    }
  );
}

/** Every claim in the TrustDomain cache. */
export const claimsIn = (trustDomains: Pick<Informer, 'list'>): TrustDomainClaim[] =>
  trustDomains.list().flatMap((object) => claimOf(object) ?? []);

/** Why a TrustDomain object may not sign, judged against every object in the cache. */
export function ownershipIn(
  trustDomains: Pick<Informer, 'list'>,
  object: unknown,
): OwnershipConflict | undefined {
  const claim = claimOf(object);
  return claim && ownershipConflict(claim, claimsIn(trustDomains));
}

const readySchema = z.object({
  status: z.object({ conditions: z.array(z.object({ type: z.string(), reason: z.string() })) }),
});
const LOSING_REASONS: readonly string[] = [TrustDomainReason.Conflict, TrustDomainReason.SignerConflict];

/**
 * Whether a TrustDomain object last reported that it lost a name: it must look again whenever another
 * object changes, since the owner may have renamed its signer or let go of the name.
 */
export function waitsForOwner(object: unknown): boolean {
  const ready = readySchema.safeParse(object).data?.status.conditions.find((c) => c.type === 'Ready');
  return ready !== undefined && LOSING_REASONS.includes(ready.reason);
}
