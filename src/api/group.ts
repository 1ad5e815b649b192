/** The API group and version every Trustline kind is served under. */
export const GROUP = 'trustline.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
