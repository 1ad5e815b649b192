import type { ReissueReason } from './reissue-reason.ts';

/** Reasons of a RegistrationEntry's Ready condition: stable strings users and alerts match on. */
export const EntryReason = {
  Issued: 'Issued',
  InvalidSpec: 'InvalidSpec',
  TrustDomainNotFound: 'TrustDomainNotFound',
  TrustDomainNotReady: 'TrustDomainNotReady',
  /** The entry names a TrustDomain object that lost its trust domain or signer name to an older one. */
  TrustDomainConflict: 'TrustDomainConflict',
  /** The entry's namespace is outside the TrustDomain's issuance namespace selector. */
  NamespaceNotSelected: 'NamespaceNotSelected',
  SecretNamespaceNotAllowed: 'SecretNamespaceNotAllowed',
  SecretConflict: 'SecretConflict',
  IssuanceFailed: 'IssuanceFailed',
  ServingPods: 'ServingPods',
  PodCertificatesUnavailable: 'PodCertificatesUnavailable',
  /** The apiserver refuses every write of the Secret (immutable, a quota, a webhook). */
  SecretUnwritable: 'SecretUnwritable',
  /** Deleted, with a finalizer holding the object: it is no longer a claim to anything. */
  EntryDeleting: 'EntryDeleting',
  /** The SVID's signer is being revoked, no successor signs, and the revocation no longer waits. */
  AuthorityRevoked: 'AuthorityRevoked',
} as const;

/**
 * Refusals that leave an issued SVID where it is: the identity is still allowed but cannot be issued
 * now, or Trustline may not write the Secret. Every other refusal of a Secret-mode entry withdraws it.
 */
export const REFUSALS_KEEPING_SVID: ReadonlySet<string> = new Set([
  EntryReason.TrustDomainNotReady,
  EntryReason.SecretNamespaceNotAllowed,
  EntryReason.SecretConflict,
  EntryReason.SecretUnwritable,
]);

/** Why an SVID was signed, as audit records, events and metrics give it. */
export const IssuanceCause = {
  Initial: 'Initial',
  Renewal: 'Renewal',
  Repair: 'Repair',
  SpecChange: 'SpecChange',
  Taint: 'Taint',
} as const;
export type IssuanceCause = (typeof IssuanceCause)[keyof typeof IssuanceCause];

const CAUSES: Partial<Record<ReissueReason, IssuanceCause>> = {
  RenewalDue: IssuanceCause.Renewal,
  Expired: IssuanceCause.Renewal,
  AuthorityGone: IssuanceCause.Renewal,
  JwtRenewalDue: IssuanceCause.Renewal,
  JwtAuthorityGone: IssuanceCause.Renewal,
  SpecChanged: IssuanceCause.SpecChange,
  DNSNamesMismatch: IssuanceCause.SpecChange,
  JwtAudienceMismatch: IssuanceCause.SpecChange,
  AuthorityTainted: IssuanceCause.Taint,
};

/** The cause of a signing: the first one for an entry that never had an SVID, else by the trigger. */
export const issuanceCause = (reason: ReissueReason, firstIssue: boolean): IssuanceCause =>
  firstIssue ? IssuanceCause.Initial : (CAUSES[reason] ?? IssuanceCause.Repair);
