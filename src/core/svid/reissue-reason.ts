/** Stable strings users and alerts match on, used as event and condition reasons. */
export const ReissueReason = {
  SecretMissing: 'SecretMissing',
  DataMissing: 'DataMissing',
  CertificateUnreadable: 'CertificateUnreadable',
  KeyMismatch: 'KeyMismatch',
  IdentityMismatch: 'IdentityMismatch',
  DNSNamesMismatch: 'DNSNamesMismatch',
  SpecChanged: 'SpecChanged',
  HandEdited: 'HandEdited',
  AuthorityGone: 'AuthorityGone',
  AuthorityTainted: 'AuthorityTainted',
  Expired: 'Expired',
  RenewalDue: 'RenewalDue',
  JwtMissing: 'JwtMissing',
  JwtUnreadable: 'JwtUnreadable',
  JwtAudienceMismatch: 'JwtAudienceMismatch',
  JwtSubjectMismatch: 'JwtSubjectMismatch',
  JwtAuthorityGone: 'JwtAuthorityGone',
  JwtRenewalDue: 'JwtRenewalDue',
} as const;
export type ReissueReason = (typeof ReissueReason)[keyof typeof ReissueReason];
