import { SVID_BUNDLE_KEY, TLS_CA_KEY, X509_DATA_KEYS } from '../../api/well-known.ts';
import type { DesiredIdentity, SecretValue } from './identity.ts';
import { textOf } from './observed-secret.ts';

/**
 * Whether the bundle copies (ca.crt, svid_bundle.pem) differ from the current trust bundle: then the
 * Secret is rewritten with the new bundle, and nothing is signed again. Compared byte for byte, since
 * the writer puts `bundlePem` there verbatim.
 */
export function caBundleStale(
  secretData: Readonly<Record<string, SecretValue | undefined>>,
  bundlePem: string,
): boolean {
  return [TLS_CA_KEY, SVID_BUNDLE_KEY].some((key) => textOf(secretData[key]) !== bundlePem);
}

/**
 * Data keys neither the X.509-SVID nor a JWT-SVID of the spec uses, such as the token of a JWT-SVID
 * removed from the spec: drift to rewrite away, with nothing signed again.
 */
export function extraDataKeys(
  secretData: Readonly<Record<string, SecretValue | undefined>>,
  spec: Pick<DesiredIdentity, 'jwtSvids'>,
): string[] {
  const wanted = new Set<string>([...X509_DATA_KEYS, ...spec.jwtSvids.map((jwt) => jwt.key)]);
  return Object.keys(secretData).filter((key) => !wanted.has(key));
}
