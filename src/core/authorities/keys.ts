import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  type KeyObject,
  type webcrypto,
} from 'node:crypto';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import type { X509Certificate } from '@peculiar/x509';
import type { JwtAlgorithm, X509KeyType } from '../../api/trustdomain.ts';
import { CodedError } from '../errors.ts';
import { Semaphore } from '../semaphore.ts';
import { decodePem, encodePem, PemError } from './pem.ts';
import { x509 } from './x509.ts';

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** A private key as @peculiar/x509 signs with it: the key, and the signature algorithm it signs with. */
export interface X509SigningKey {
  key: webcrypto.CryptoKey;
  algorithm: { name: string; hash?: string };
}

export type KeyErrorCode = 'Unreadable' | 'Encrypted' | 'Unsupported' | 'WrongAlgorithm';

/** A private key that cannot be used. Messages never quote the key. */
export class KeyError extends CodedError<KeyErrorCode> {}

type KeySpec = { type: 'ec'; curve: 'P-256' | 'P-384' } | { type: 'rsa'; modulusLength: 2048 | 3072 | 4096 };

const x509KeySpecs: Record<X509KeyType, KeySpec> = {
  'EC-P256': { type: 'ec', curve: 'P-256' },
  'EC-P384': { type: 'ec', curve: 'P-384' },
  'RSA-2048': { type: 'rsa', modulusLength: 2048 },
  'RSA-3072': { type: 'rsa', modulusLength: 3072 },
  'RSA-4096': { type: 'rsa', modulusLength: 4096 },
};

/** RSA sizes follow the hash: a stronger hash over a weaker modulus buys nothing (NIST SP 800-57). */
const jwtKeySpecs: Record<JwtAlgorithm, KeySpec> = {
  ES256: { type: 'ec', curve: 'P-256' },
  ES384: { type: 'ec', curve: 'P-384' },
  RS256: { type: 'rsa', modulusLength: 2048 },
  RS384: { type: 'rsa', modulusLength: 3072 },
  RS512: { type: 'rsa', modulusLength: 4096 },
  PS256: { type: 'rsa', modulusLength: 2048 },
  PS384: { type: 'rsa', modulusLength: 3072 },
  PS512: { type: 'rsa', modulusLength: 4096 },
};

/** Node names curves by their OpenSSL names; JOSE and WebCrypto by their NIST names. */
const nistCurves: Record<string, 'P-256' | 'P-384' | 'P-521'> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};
const curveHashes = { 'P-256': 'SHA-256', 'P-384': 'SHA-384', 'P-521': 'SHA-512' } as const;

const generate = promisify(generateKeyPair);

/**
 * RSA keys take up to seconds of CPU each (RSA-4096). They are made on libuv's threadpool, never on
 * the event loop, and at most one fewer at a time than there are cores, so however many a tenant asks
 * for, a core stays free for the event loop (Lease renewal, other namespaces) and the threadpool keeps
 * threads for everything else.
 */
const rsaGeneration = new Semaphore(Math.max(1, availableParallelism() - 1));

function generateFor(spec: KeySpec): Promise<KeyPair> {
  return spec.type === 'ec'
    ? generate('ec', { namedCurve: spec.curve })
    : rsaGeneration.run(() => generate('rsa', { modulusLength: spec.modulusLength }));
}

export const generateX509KeyPair = (keyType: X509KeyType): Promise<KeyPair> =>
  generateFor(x509KeySpecs[keyType]);

export const generateJwtKeyPair = (algorithm: JwtAlgorithm): Promise<KeyPair> =>
  generateFor(jwtKeySpecs[algorithm]);

export const exportPrivateKeyPem = (key: KeyObject): string =>
  key.export({ type: 'pkcs8', format: 'pem' }).toString();

/**
 * Reads the private key of a PEM text: PKCS#8, SEC1 (`EC PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`),
 * as openssl and cert-manager write them. Other blocks, like the `EC PARAMETERS` that
 * `openssl ecparam -genkey` puts first, are skipped.
 */
export function readPrivateKey(pem: string): KeyObject {
  let blocks: ReturnType<typeof decodePem>;
  try {
    blocks = decodePem(pem);
  } catch (error) {
    throw new KeyError('Unreadable', error instanceof PemError ? error.message : 'not PEM');
  }
  const keys = blocks.filter((block) => block.label.endsWith('PRIVATE KEY'));
  const [block] = keys;
  if (block === undefined) throw new KeyError('Unreadable', 'no PRIVATE KEY PEM block');
  if (keys.length > 1) throw new KeyError('Unreadable', `${keys.length} private keys where one belongs`);
  if (block.label === 'ENCRYPTED PRIVATE KEY') {
    throw new KeyError('Encrypted', 'the key is encrypted; store it unencrypted');
  }
  try {
    // Node's parse errors never include key material, but they are not ours to promise: drop them.
    return createPrivateKey({ key: encodePem(block.label, block.der), format: 'pem' });
  } catch {
    throw new KeyError('Unreadable', `the ${block.label} block is not a valid private key`);
  }
}

function curveOf(key: KeyObject): 'P-256' | 'P-384' | 'P-521' | undefined {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve === undefined ? undefined : nistCurves[curve];
}

const fits = (key: KeyObject, spec: KeySpec): boolean =>
  spec.type === 'ec'
    ? key.asymmetricKeyType === 'ec' && curveOf(key) === spec.curve
    : key.asymmetricKeyType === 'rsa' && key.asymmetricKeyDetails?.modulusLength === spec.modulusLength;

export const keyFitsX509KeyType = (key: KeyObject, keyType: X509KeyType): boolean =>
  fits(key, x509KeySpecs[keyType]);

export const keyFitsJwtAlgorithm = (key: KeyObject, algorithm: JwtAlgorithm): boolean =>
  fits(key, jwtKeySpecs[algorithm]);

/**
 * The key as @peculiar/x509 signs certificates with it. The hash follows the curve for EC; RSA signs
 * with SHA-256 whatever its size, as SPIRE and most CAs do. Ed25519 is accepted because cert-manager
 * issues it.
 */
export function x509SigningKey(privateKey: KeyObject): X509SigningKey {
  const type = privateKey.asymmetricKeyType;
  if (type === 'ec') {
    const curve = curveOf(privateKey);
    if (curve === undefined) {
      throw new KeyError('Unsupported', 'the EC key is not on P-256, P-384 or P-521');
    }
    return {
      key: privateKey.toCryptoKey({ name: 'ECDSA', namedCurve: curve }, false, ['sign']),
      algorithm: { name: 'ECDSA', hash: curveHashes[curve] },
    };
  }
  if (type === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return { key: privateKey.toCryptoKey(algorithm, false, ['sign']), algorithm };
  }
  if (type === 'ed25519') {
    const algorithm = { name: 'Ed25519' };
    return { key: privateKey.toCryptoKey(algorithm, false, ['sign']), algorithm };
  }
  throw new KeyError('Unsupported', `${type ?? 'unknown'} keys are not supported; use EC, RSA or Ed25519`);
}

/** Reads a PKCS#8 PEM as the key that signs certificates. */
export const importX509SigningKey = (pem: string): X509SigningKey => x509SigningKey(readPrivateKey(pem));

/** Reads a PKCS#8 PEM as a WebCrypto key that jose signs `algorithm` JWTs with. */
export function importJwtSigningKey(pem: string, algorithm: JwtAlgorithm): webcrypto.CryptoKey {
  const key = readPrivateKey(pem);
  if (!keyFitsJwtAlgorithm(key, algorithm)) {
    throw new KeyError('WrongAlgorithm', `the key is not the kind ${algorithm} signs with`);
  }
  const spec = jwtKeySpecs[algorithm];
  const webCryptoAlgorithm =
    spec.type === 'ec'
      ? { name: 'ECDSA', namedCurve: spec.curve }
      : {
          name: algorithm.startsWith('PS') ? 'RSA-PSS' : 'RSASSA-PKCS1-v1_5',
          hash: `SHA-${algorithm.slice(2)}`,
        };
  return key.toCryptoKey(webCryptoAlgorithm, false, ['sign']);
}

/**
 * Whether `privateKey` is the private half of `publicKey` (from a certificate or a JWK). Types are
 * compared first: Node's `equals` across key types leaves an OpenSSL error queued that makes the next
 * `createPrivateKey` in the process fail.
 */
export const privateKeyMatches = (privateKey: KeyObject, publicKey: KeyObject): boolean =>
  privateKey.asymmetricKeyType === publicKey.asymmetricKeyType &&
  createPublicKey(privateKey).equals(publicKey);

/**
 * RFC 5280 section 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits of a DER SubjectPublicKeyInfo,
 * lower-case hex. The authorities' subject key identifier, and the id of upstream certificates that
 * lack the extension.
 */
export const subjectKeyId = (spki: Uint8Array): string =>
  createHash('sha1')
    .update(subjectPublicKeyBits(Buffer.from(spki)))
    .digest('hex');

/** The certificate's subject key identifier extension, or method 1 where it has none. */
export const certificateKeyId = (certificate: X509Certificate): string =>
  certificate.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId.toLowerCase() ??
  subjectKeyId(new Uint8Array(certificate.publicKey.rawData));

/** SubjectPublicKeyInfo ::= SEQUENCE { algorithm SEQUENCE, subjectPublicKey BIT STRING } */
function subjectPublicKeyBits(spki: Buffer): Buffer {
  const outer = derElement(spki, 0);
  const algorithm = derElement(spki, outer.contentStart);
  const bits = derElement(spki, algorithm.end);
  if (outer.tag !== 0x30 || algorithm.tag !== 0x30 || bits.tag !== 0x03) {
    throw new Error('malformed SubjectPublicKeyInfo');
  }
  // The first content octet counts the unused bits of the last octet; it is not part of the key.
  return spki.subarray(bits.contentStart + 1, bits.end);
}

function derElement(der: Buffer, offset: number): { tag: number; contentStart: number; end: number } {
  const tag = der[offset];
  const first = der[offset + 1];
  if (tag === undefined || first === undefined) throw new Error('truncated DER');
  if (first < 0x80) return { tag, contentStart: offset + 2, end: offset + 2 + first };
  const lengthOctets = first & 0x7f;
  const length = der.readUIntBE(offset + 2, lengthOctets);
  const contentStart = offset + 2 + lengthOctets;
  return { tag, contentStart, end: contentStart + length };
}
