/** The API group and version every Trustline kind is served under. */
export const GROUP = 'trustline.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
/**
 * The domain of every PodCertificateRequest signer Trustline answers for: RBAC grants `sign` and
 * `attest` on `<domain>/*`, so no signer outside it could be served.
 */
export const SIGNER_DOMAIN = GROUP;
