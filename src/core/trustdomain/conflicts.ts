/** The parts of a TrustDomain object that decide who owns a trust domain name. */
export interface TrustDomainClaim {
  name: string;
  trustDomain: string;
  creationTimestamp?: string;
}

const byAge = (a: TrustDomainClaim, b: TrustDomainClaim): number =>
  (a.creationTimestamp ?? '').localeCompare(b.creationTimestamp ?? '') || a.name.localeCompare(b.name);

/**
 * The object that owns `claim.trustDomain` among all claims, or undefined when `claim` owns it itself.
 * The oldest wins (the name breaks a tie within the same second); an object being deleted still owns its
 * name until it is gone, so its successor never sees a gap.
 */
export function conflictingOwner(
  claim: TrustDomainClaim,
  claims: readonly TrustDomainClaim[],
): TrustDomainClaim | undefined {
  const owner = claims.filter((other) => other.trustDomain === claim.trustDomain).sort(byAge)[0];
  return owner && owner.name !== claim.name ? owner : undefined;
}
