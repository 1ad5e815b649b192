import type { ClaimRule } from '../claims.ts';
import type { LimitRule } from '../svid/desired-identity.ts';
import type { PodBindingRule } from './pod-binding.ts';
import type { SelectionDenial } from './selection.ts';

/** Reasons of the Denied and Failed conditions Trustline sets on PodCertificateRequests. */
export type PodCertificateDenial =
  | SelectionDenial
  | ClaimRule
  | LimitRule
  | PodBindingRule
  | 'UnknownSigner'
  | 'TrustDomainConflict'
  | 'NamespaceNotSelected'
  | 'PodNotFound'
  | 'UnsupportedKeyType';

export type PodCertificateFailure = 'MalformedRequest' | 'AuthorityLifetimeTooShort' | 'StatusRejected';
