import { X509Certificate as NodeCertificate } from 'node:crypto';
import {
  ANNOTATION_SVID_AUTHORITY_ID,
  ANNOTATION_SVID_NOT_AFTER,
  ANNOTATION_SVID_RENEW_AT,
  ANNOTATION_SVID_SERIAL,
  ANNOTATION_SVID_SPEC_HASH,
  ANNOTATION_SVID_SPIFFE_ID,
  SVID_BUNDLE_KEY,
  SVID_CERT_KEY,
  SVID_PRIVATE_KEY_KEY,
  TLS_CA_KEY,
  TLS_CERT_KEY,
  TLS_PRIVATE_KEY_KEY,
  X509_DATA_KEYS,
} from '../../api/well-known.ts';
import { CodedError } from '../errors.ts';
import type { DesiredIdentity, SecretValue } from './identity.ts';
import { issuedLifetime, renewAt } from './renewal.ts';
import { normalizeSerial } from './serial.ts';
import { specHash } from './spec-hash.ts';

/**
 * The content of an SVID Secret, written so that the re-issue policies find it sound: the
 * annotations are read back from the certificate rather than trusted from the caller, since any
 * disagreement would make the Secret look hand-edited and be issued again on every reconcile.
 */

export interface IssuedX509Svid {
  /** The leaf certificate, PEM. */
  certificate: string;
  /** Intermediates, PEM, the leaf's issuer first; the trust domain's roots are not part of it. */
  chain: readonly string[];
  /** PKCS#8 PEM. */
  privateKey: string;
  serial: string;
  notAfter: Date;
  /** The X.509 authority that signed the leaf. */
  authorityId: string;
}

export interface RenewalSettings {
  fraction?: number;
  jitter?: number;
  random: () => number;
}

export interface SecretDataInput {
  identity: DesiredIdentity;
  svid: IssuedX509Svid;
  /** The trust domain's X.509 roots, PEM; written verbatim, as `caBundleStale` compares it. */
  bundlePem: string;
  /** One compact JWT per key of `identity.jwtSvids`. */
  jwtSvids: Readonly<Record<string, string>>;
  renewal: RenewalSettings;
}

/** Trustline's part of the Secret; the controller merges in the labels and annotations of the spec. */
export interface SvidSecretContent {
  data: Record<string, string>;
  annotations: Record<string, string>;
}

export type SecretDataErrorCode = 'ReservedKey' | 'JwtSvidMissing' | 'UnexpectedJwtSvid' | 'Inconsistent';

/** The caller handed over parts that would make an unsound Secret. */
export class SecretDataError extends CodedError<SecretDataErrorCode> {}

const RESERVED: ReadonlySet<string> = new Set(X509_DATA_KEYS);

/** Whether a JWT-SVID may not use `key`, because the X.509-SVID's files use it. */
export const isReservedDataKey = (key: string): boolean => RESERVED.has(key);

const withNewline = (pem: string): string => (pem.endsWith('\n') ? pem : `${pem}\n`);

/** The leaf, then its chain: tls.crt as cert-manager writes it, svid.pem as spiffe-helper does. */
export const leafAndChain = (svid: Pick<IssuedX509Svid, 'certificate' | 'chain'>): string =>
  [svid.certificate, ...svid.chain].map(withNewline).join('');

function checkJwtKeys(expected: readonly string[], tokens: Readonly<Record<string, string>>): void {
  for (const key of expected) {
    if (isReservedDataKey(key)) {
      throw new SecretDataError('ReservedKey', `JWT-SVID key ${key} is the name of an X.509-SVID file`);
    }
    if (!Object.hasOwn(tokens, key))
      throw new SecretDataError('JwtSvidMissing', `no JWT-SVID for key ${key}`);
  }
  const unexpected = Object.keys(tokens).filter((key) => !expected.includes(key));
  if (unexpected.length > 0) {
    throw new SecretDataError(
      'UnexpectedJwtSvid',
      `JWT-SVIDs for keys the spec does not name: ${unexpected.join(', ')}`,
    );
  }
}

/** The Secret's data and Trustline annotations for a freshly issued X.509-SVID and JWT-SVIDs. */
export function buildSecretData(input: SecretDataInput): SvidSecretContent {
  const { identity, svid, bundlePem, jwtSvids, renewal } = input;
  checkJwtKeys(
    identity.jwtSvids.map((jwt) => jwt.key),
    jwtSvids,
  );

  let leaf: NodeCertificate;
  try {
    leaf = new NodeCertificate(svid.certificate);
  } catch {
    throw new SecretDataError('Inconsistent', 'the issued certificate is not a PEM certificate');
  }
  const serial = normalizeSerial(leaf.serialNumber);
  if (normalizeSerial(svid.serial) !== serial) {
    throw new SecretDataError('Inconsistent', `serial ${svid.serial} is not the certificate's ${serial}`);
  }
  const notBefore = leaf.validFromDate;
  const notAfter = leaf.validToDate;
  if (svid.notAfter.getTime() !== notAfter.getTime()) {
    throw new SecretDataError(
      'Inconsistent',
      `notAfter ${svid.notAfter.toISOString()} is not the certificate's ${notAfter.toISOString()}`,
    );
  }

  const chain = leafAndChain(svid);
  const key = withNewline(svid.privateKey);
  return {
    data: {
      [TLS_CERT_KEY]: chain,
      [TLS_PRIVATE_KEY_KEY]: key,
      [TLS_CA_KEY]: bundlePem,
      [SVID_CERT_KEY]: chain,
      [SVID_PRIVATE_KEY_KEY]: key,
      [SVID_BUNDLE_KEY]: bundlePem,
      ...jwtSvids,
    },
    annotations: {
      [ANNOTATION_SVID_SPIFFE_ID]: identity.spiffeId,
      [ANNOTATION_SVID_SERIAL]: serial,
      [ANNOTATION_SVID_AUTHORITY_ID]: svid.authorityId.toLowerCase(),
      [ANNOTATION_SVID_NOT_AFTER]: notAfter.toISOString(),
      [ANNOTATION_SVID_RENEW_AT]: renewAt({
        ...issuedLifetime({ notBefore, notAfter }),
        ...renewal,
      }).toISOString(),
      [ANNOTATION_SVID_SPEC_HASH]: specHash(identity),
    },
  };
}

const textOf = (value: SecretValue): string => (typeof value === 'string' ? value : value.toString('utf8'));

/** The X.509 files of existing data, as text; the rest is left out. */
function x509Files(data: Readonly<Record<string, SecretValue | undefined>>): Record<string, string> {
  const files: Record<string, string> = {};
  for (const key of X509_DATA_KEYS) {
    const value = data[key];
    if (value !== undefined) files[key] = textOf(value);
  }
  return files;
}

/**
 * Existing data with the new trust bundle and nothing re-signed, for when `caBundleStale` holds and
 * no re-issue policy triggers. JWT-SVIDs are kept as they are.
 */
export function withBundle(
  data: Readonly<Record<string, SecretValue | undefined>>,
  bundlePem: string,
): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) if (value !== undefined) kept[key] = textOf(value);
  return { ...kept, [TLS_CA_KEY]: bundlePem, [SVID_BUNDLE_KEY]: bundlePem };
}

/**
 * Existing X.509 files with exactly these JWT-SVIDs, for when only tokens are signed again: tokens the
 * spec no longer names are dropped. `jwtSvids` holds every token the spec names, kept ones included.
 */
export function withJwtSvids(
  data: Readonly<Record<string, SecretValue | undefined>>,
  identity: Pick<DesiredIdentity, 'jwtSvids'>,
  jwtSvids: Readonly<Record<string, string>>,
): Record<string, string> {
  checkJwtKeys(
    identity.jwtSvids.map((jwt) => jwt.key),
    jwtSvids,
  );
  return { ...x509Files(data), ...jwtSvids };
}
