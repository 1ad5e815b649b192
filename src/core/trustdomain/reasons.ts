/** Reasons of a TrustDomain's conditions: stable strings users and alerts match on. */
export const TrustDomainReason = {
  Ready: 'AuthoritiesActive',
  InvalidSpec: 'InvalidSpec',
  LifetimeTooShort: 'LifetimeTooShort',
  Conflict: 'Conflict',
  SignerConflict: 'SignerConflict',
  UpstreamNotFound: 'UpstreamNotFound',
  UpstreamInvalid: 'UpstreamInvalid',
  UpstreamNotBound: 'UpstreamNotBound',
  UpstreamRevoked: 'UpstreamRevoked',
  JournalInvalid: 'JournalInvalid',
  JournalMissing: 'JournalMissing',
  BundleTooLarge: 'BundleTooLarge',
  InUse: 'InUse',
  Published: 'Published',
  ForeignConfigMap: 'ForeignConfigMap',
  PublishFailed: 'PublishFailed',
  OIDCNotPublished: 'OIDCNotPublished',
} as const;

/** The condition next to Ready that says whether every selected namespace holds the bundle. */
export const BUNDLE_PUBLISHED_CONDITION = 'BundlePublished';
