/** The parts of a TrustDomain object that decide who owns a trust domain name and a signer name. */
export interface TrustDomainClaim {
  name: string;
  trustDomain: string;
  /** The PodCertificateRequest signer it answers for; claims without one contend for no signer. */
  signerName?: string | undefined;
  creationTimestamp?: string | undefined;
}

/** What a TrustDomain object lost, to whom, and the message that says so. */
export interface OwnershipConflict {
  kind: 'TrustDomain' | 'SignerName';
  owner: TrustDomainClaim;
  message: string;
}

const byAge = (a: TrustDomainClaim, b: TrustDomainClaim): number =>
  (a.creationTimestamp ?? '').localeCompare(b.creationTimestamp ?? '') || a.name.localeCompare(b.name);

const oldest = (claims: readonly TrustDomainClaim[]): TrustDomainClaim | undefined =>
  [...claims].sort(byAge)[0];

/**
 * The object that owns `claim.trustDomain` among all claims, or undefined when `claim` owns it itself.
 * The oldest wins (the name breaks a tie within the same second); an object being deleted still owns its
 * name until it is gone, so its successor never sees a gap.
 */
export function conflictingOwner(
  claim: TrustDomainClaim,
  claims: readonly TrustDomainClaim[],
): TrustDomainClaim | undefined {
  const owner = oldest(claims.filter((other) => other.trustDomain === claim.trustDomain));
  return owner && owner.name !== claim.name ? owner : undefined;
}

/** The object that answers for a signer name: the oldest of those naming it, by the same rule. */
export const signerOwner = (
  signerName: string,
  claims: readonly TrustDomainClaim[],
): TrustDomainClaim | undefined => oldest(claims.filter((other) => other.signerName === signerName));

/**
 * Why `claim` may not sign anything, or undefined when it owns both its trust domain name and its signer
 * name. The TrustDomain controller, the entry controller and the PodCertificateRequest signer all ask
 * this, so a losing object never signs, not even with the owner's keys under its own grants.
 */
export function ownershipConflict(
  claim: TrustDomainClaim,
  claims: readonly TrustDomainClaim[],
): OwnershipConflict | undefined {
  const owner = conflictingOwner(claim, claims);
  if (owner) {
    return {
      kind: 'TrustDomain',
      owner,
      message: `TrustDomain ${owner.name} already serves trust domain ${claim.trustDomain} and is older`,
    };
  }
  const signer = claim.signerName === undefined ? undefined : signerOwner(claim.signerName, claims);
  if (signer && signer.name !== claim.name) {
    return {
      kind: 'SignerName',
      owner: signer,
      message: `TrustDomain ${signer.name} already answers for signer ${claim.signerName} and is older; set another spec.podCertificates.signerName`,
    };
  }
  return undefined;
}
