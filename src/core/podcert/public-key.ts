import { createPublicKey, type KeyObject } from 'node:crypto';
import type { X509KeyType } from '../../api/trustdomain.ts';
import { CodedError } from '../errors.ts';
import { children, readElement } from '../svid/der.ts';

/** The key types a kubelet generates for a podCertificate volume (PodCertificateProjection.keyType). */
export type PodKeyType = 'RSA3072' | 'RSA4096' | 'ECDSAP256' | 'ECDSAP384' | 'ECDSAP521' | 'ED25519';

/** The request key types Trustline signs, as the SVID profile names them. */
export const SIGNABLE_KEY_TYPES: Readonly<Partial<Record<PodKeyType, X509KeyType>>> = {
  ECDSAP256: 'EC-P256',
  ECDSAP384: 'EC-P384',
  RSA3072: 'RSA-3072',
  RSA4096: 'RSA-4096',
};

export interface RequestKey {
  /** DER SubjectPublicKeyInfo, as the certificate carries it. */
  spki: Buffer;
  keyType: PodKeyType;
}

export class RequestKeyError extends CodedError<'MalformedRequest' | 'UnknownKeyType'> {}

/**
 * The subject public key of a request, from whichever form its API version carries: the stub PKCS#10
 * request (certificates.k8s.io/v1, and v1beta1 from 1.36) or the bare PKIX key (v1beta1 in 1.35). The
 * apiserver has checked the signature or proof of possession already, so only the key is read here.
 */
export function requestKey(form: { stubPKCS10Request?: string; pkixPublicKey?: string }): RequestKey {
  let spki: Buffer;
  if (form.stubPKCS10Request) spki = spkiOfPkcs10(Buffer.from(form.stubPKCS10Request, 'base64'));
  else if (form.pkixPublicKey) spki = Buffer.from(form.pkixPublicKey, 'base64');
  else
    throw new RequestKeyError(
      'MalformedRequest',
      'the request carries neither stubPKCS10Request nor pkixPublicKey',
    );
  const key = parseSpki(spki);
  // Re-encoded: what follows a key in the field must never reach a certificate.
  return { spki: key.export({ type: 'spki', format: 'der' }), keyType: keyTypeOf(key) };
}

function parseSpki(spki: Buffer): KeyObject {
  try {
    return createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch {
    throw new RequestKeyError('MalformedRequest', 'the public key is not a DER SubjectPublicKeyInfo');
  }
}

/** CertificationRequest ::= SEQUENCE { CertificationRequestInfo SEQUENCE { version, subject, subjectPKInfo, ... }, ... } */
function spkiOfPkcs10(der: Buffer): Buffer {
  try {
    const [info] = children(der, readElement(der, 0));
    const spki = info && children(der, info)[2];
    if (spki === undefined) throw new Error('too few fields');
    return der.subarray(spki.start, spki.end);
  } catch (error) {
    throw new RequestKeyError(
      'MalformedRequest',
      `stubPKCS10Request is not a PKCS#10 request: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

const CURVES: Readonly<Record<string, PodKeyType | undefined>> = {
  prime256v1: 'ECDSAP256',
  secp384r1: 'ECDSAP384',
  secp521r1: 'ECDSAP521',
};

function keyTypeOf(key: KeyObject): PodKeyType {
  const { asymmetricKeyType: type, asymmetricKeyDetails: params = {} } = key;
  if (type === 'ed25519') return 'ED25519';
  const curve = type === 'ec' ? CURVES[params.namedCurve ?? ''] : undefined;
  if (curve !== undefined) return curve;
  if (type === 'rsa' && (params.modulusLength === 3072 || params.modulusLength === 4096))
    return `RSA${params.modulusLength}`;
  throw new RequestKeyError(
    'UnknownKeyType',
    `a ${type ?? 'unknown'} key${params.namedCurve ? ` on ${params.namedCurve}` : ''}${params.modulusLength ? ` of ${params.modulusLength} bits` : ''} is not a podCertificate key type`,
  );
}
