import { GROUP } from './group.ts';

/** Labels, annotations, finalizers and data keys Trustline writes and users may select on. */

export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_TRUSTLINE = 'trustline';
/** On objects published for a TrustDomain: the TrustDomain's object name. */
export const LABEL_TRUST_DOMAIN_OBJECT = `${GROUP}/trustdomain`;
/** On SVID Secrets: the RegistrationEntry's name (through labelValueFor). */
export const LABEL_REGISTRATION_ENTRY = `${GROUP}/registrationentry`;
/** On the journal Secret: the trust domain name through labelValueFor (the full name is an annotation). */
/**
 * Mints a new set of keys for a trust domain whose journal is gone although it has published a bundle.
 * Without it Trustline refuses, since new keys would silently replace every key relying parties trust.
 */
export const ANNOTATION_REINITIALIZE_KEYS = `${GROUP}/reinitialize-keys`;
/** On published ConfigMaps: which document they carry. */
export const LABEL_CONTENT = `${GROUP}/content`;
export const CONTENT_TRUST_BUNDLE = 'trust-bundle';
export const CONTENT_OIDC_DISCOVERY = 'oidc-discovery';
export const LABEL_JOURNAL = `${GROUP}/journal`;
export const ANNOTATION_TRUST_DOMAIN = `${GROUP}/trust-domain`;

/**
 * On an upstream CA Secret: the TrustDomain objects (comma-separated metadata.names) that may sign
 * under it. A TrustDomain naming a Secret without it is refused.
 */
export const ANNOTATION_UPSTREAM_FOR = `${GROUP}/upstream-for`;

/** On a published ConfigMap Trustline emptied because the TrustDomain no longer publishes it there. */
export const ANNOTATION_EMPTIED = `${GROUP}/emptied`;

/** Holds a TrustDomain's deletion while RegistrationEntries still use it. */
export const FINALIZER_IN_USE = `${GROUP}/in-use-protection`;

/** Keys of the trust bundle ConfigMap. */
export const BUNDLE_PEM_KEY = 'bundle.pem';
export const BUNDLE_SPIFFE_KEY = 'bundle.spiffe.json';
export const BUNDLE_JWKS_KEY = 'jwks.json';

/** Keys of the OIDC discovery ConfigMap, named after the paths a web server serves them at. */
export const OIDC_DISCOVERY_KEY = 'openid-configuration';
export const OIDC_KEYS_KEY = 'keys';

/** Key of the journal Secret. */
export const JOURNAL_KEY = 'journal.json';

/** Keys of an upstream CA Secret, as cert-manager and kubernetes.io/tls Secrets name them. */
export const UPSTREAM_CERT_KEY = 'tls.crt';
export const UPSTREAM_PRIVATE_KEY_KEY = 'tls.key';
export const UPSTREAM_ROOTS_KEY = 'ca.crt';

/** Secret data keys: cert-manager's kubernetes.io/tls names and spiffe-helper's names. */
export const TLS_CERT_KEY = 'tls.crt';
export const TLS_PRIVATE_KEY_KEY = 'tls.key';
export const TLS_CA_KEY = 'ca.crt';
export const SVID_CERT_KEY = 'svid.pem';
export const SVID_PRIVATE_KEY_KEY = 'svid_key.pem';
export const SVID_BUNDLE_KEY = 'svid_bundle.pem';
/** Every key of the X.509 part; JWT-SVIDs take the keys their spec names and must not use these. */
export const X509_DATA_KEYS = [
  TLS_CERT_KEY,
  TLS_PRIVATE_KEY_KEY,
  TLS_CA_KEY,
  SVID_CERT_KEY,
  SVID_PRIVATE_KEY_KEY,
  SVID_BUNDLE_KEY,
] as const;

/** Annotations on the SVID Secret: what was issued, so drift is seen without trusting the data alone. */
export const ANNOTATION_SVID_SPIFFE_ID = `${GROUP}/spiffe-id`;
/** As `normalizeSerial` writes it. */
export const ANNOTATION_SVID_SERIAL = `${GROUP}/svid-serial`;
export const ANNOTATION_SVID_AUTHORITY_ID = `${GROUP}/svid-authority-id`;
export const ANNOTATION_SVID_NOT_AFTER = `${GROUP}/svid-not-after`;
export const ANNOTATION_SVID_RENEW_AT = `${GROUP}/svid-renew-at`;
export const ANNOTATION_SVID_SPEC_HASH = `${GROUP}/svid-spec-hash`;
/** On a Secret whose SVID Trustline withdrew: why (an entry refusal reason or a revocation's). */
export const ANNOTATION_SVID_WITHDRAWN = `${GROUP}/svid-withdrawn`;
/** On a withdrawn Secret: the authorities that had signed what it held, so a revocation can name it. */
export const ANNOTATION_WITHDRAWN_SIGNERS = `${GROUP}/withdrawn-signers`;
/** Every annotation that describes a held SVID: a withdrawal removes them all. */
export const SVID_ANNOTATIONS: readonly string[] = [
  ANNOTATION_SVID_SPIFFE_ID,
  ANNOTATION_SVID_SERIAL,
  ANNOTATION_SVID_AUTHORITY_ID,
  ANNOTATION_SVID_NOT_AFTER,
  ANNOTATION_SVID_RENEW_AT,
  ANNOTATION_SVID_SPEC_HASH,
];

/**
 * The one user annotation Trustline reads from a podCertificate volume (and so from the request's
 * unverifiedUserAnnotations): the RegistrationEntry the pod asks for when several select it.
 */
export const USER_ANNOTATION_ENTRY = `${GROUP}/registration-entry`;
