import { randomBytes } from 'node:crypto';
import type { X509KeyType } from '../../api/trustdomain.ts';
import { generateLeafKey, type LeafKey } from './leaf-key.ts';
import { checkDnsNames, checkSpiffeId, SvidError, svidNotAfter } from './validation.ts';
import type { X509SvidParams, X509SvidSigner } from './x509-types.ts';

/**
 * What every X.509-SVID shares, whichever encoder writes it: its serial, its validity and the fixed
 * parts of its profile.
 */

/** As SPIRE does: a peer whose clock runs a little behind still accepts a fresh SVID. */
export const BACKDATE_MS = 10_000;

/**
 * The subject is the constant O=Trustline: nothing about the workload, which the SAN names. Being
 * non-empty, it lets the SAN be non-critical, as RFC 5280 section 4.2.1.6 recommends and SPIRE does.
 */
export const SUBJECT_ORGANIZATION = 'Trustline';

/** 128 random bits: the CA/Browser Forum asks for at least 64, RFC 5280 allows up to 20 octets. */
const SERIAL_OCTETS = 16;

export const OIDS = {
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  sha256WithRsa: '1.2.840.113549.1.1.11',
} as const;

/** RSA keys may also encipher, for TLS's RSA key transport; EC keys only sign. */
export const enciphers = (keyType: X509KeyType): boolean => keyType.startsWith('RSA');

/** The serial's magnitude, big-endian. Zero, which is not positive, is drawn again (odds 2^-128). */
export function randomSerial(): Buffer {
  for (;;) {
    const serial = randomBytes(SERIAL_OCTETS);
    if (serial.some((octet) => octet !== 0)) return serial;
  }
}

/** Lower-case hex of the serial's value, without leading zeros, as people compare serials. */
export const serialHex = (serial: Buffer): string => serial.toString('hex').replace(/^(?:00)+/, '');

/** Backdated, and on a whole second as the certificate holds it. */
export const svidNotBefore = (now: Date): Date =>
  new Date(Math.floor((now.getTime() - BACKDATE_MS) / 1000) * 1000);

/** The certificate's content: checked names, validity, serial and the subject's public key. */
export interface CertificatePlan {
  spiffeId: string;
  dnsNames: string[];
  keyType: X509KeyType;
  notBefore: Date;
  notAfter: Date;
  serial: Buffer;
  /** DER SubjectPublicKeyInfo. */
  spki: Buffer;
}

/** What both ways of building an X.509-SVID start from: the certificate's content and a fresh key. */
export interface LeafPlan extends CertificatePlan {
  key: LeafKey;
}

export async function planLeaf(signer: X509SvidSigner, params: X509SvidParams): Promise<LeafPlan> {
  const { spiffeId, ttlMs, now, keyType = 'EC-P256' } = params;
  checkSpiffeId(spiffeId, signer.trustDomain);
  const dnsNames = checkDnsNames(params.dnsNames ?? []);
  // Checked before the key is made, so a refused request costs no key.
  const notAfter = svidNotAfter(now, ttlMs, signer.notAfter);
  const key = await generateLeafKey(keyType);
  return {
    spiffeId,
    dnsNames,
    keyType,
    notAfter,
    notBefore: svidNotBefore(now),
    serial: randomSerial(),
    spki: key.spki,
    key,
  };
}

/** A certificate for a key someone else holds (a kubelet's), with a validity chosen by the caller. */
export interface SubjectKeyRequest {
  spiffeId: string;
  dnsNames?: readonly string[];
  spki: Buffer;
  keyType: X509KeyType;
  notBefore: Date;
  notAfter: Date;
}

export function planCertificate(signer: X509SvidSigner, request: SubjectKeyRequest): CertificatePlan {
  const { spiffeId, spki, keyType, notBefore, notAfter } = request;
  checkSpiffeId(spiffeId, signer.trustDomain);
  if (notAfter.getTime() > signer.notAfter.getTime() || notAfter.getTime() <= notBefore.getTime()) {
    throw new SvidError(
      'InvalidTtl',
      `validity ${notBefore.toISOString()} to ${notAfter.toISOString()} does not fit the authority, valid until ${signer.notAfter.toISOString()}`,
    );
  }
  return {
    spiffeId,
    dnsNames: checkDnsNames(request.dnsNames ?? []),
    keyType,
    notBefore,
    notAfter,
    serial: randomSerial(),
    spki,
  };
}
