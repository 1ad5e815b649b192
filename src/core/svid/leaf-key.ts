import { generateKeyPairSync } from 'node:crypto';
import type { X509KeyType } from '../../api/trustdomain.ts';
import { generateX509KeyPair, type KeyPair } from '../authorities/keys.ts';
import { encodePem } from '../authorities/pem.ts';
import { children, oid, readElement, sequence } from './der.ts';

const EC_PUBLIC_KEY = oid('1.2.840.10045.2.1');

/** A fresh SVID key as the certificate and the workload need it. */
export interface LeafKey {
  /** DER SubjectPublicKeyInfo, for the certificate. */
  spki: Buffer;
  /** PKCS#8 PEM, for the workload. */
  privateKey: string;
}

/**
 * Fresh for every SVID. RSA keys come from the threadpool, bounded, like the authorities' keys. EC keys
 * take tens of microseconds, less than a trip through the threadpool, and are made here so they never
 * queue behind another namespace's RSA keys there.
 */
export async function generateLeafKey(keyType: X509KeyType): Promise<LeafKey> {
  const keys = await generate(keyType);
  const pkcs8 = keys.privateKey.export({ type: 'pkcs8', format: 'der' });
  return {
    spki: spkiFromPkcs8(pkcs8) ?? keys.publicKey.export({ type: 'spki', format: 'der' }),
    privateKey: encodePem('PRIVATE KEY', pkcs8),
  };
}

function generate(keyType: X509KeyType): KeyPair | Promise<KeyPair> {
  switch (keyType) {
    case 'EC-P256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'EC-P384':
      return generateKeyPairSync('ec', { namedCurve: 'P-384' });
    case 'RSA-2048':
    case 'RSA-3072':
    case 'RSA-4096':
      return generateX509KeyPair(keyType);
  }
}

/**
 * An EC key's SubjectPublicKeyInfo, put together from its PKCS#8 export, which OpenSSL writes with
 * the public point in it: Node's SPKI export costs twice the key generation, this a few microseconds.
 * PrivateKeyInfo ::= SEQUENCE { version, privateKeyAlgorithm, privateKey OCTET STRING { ECPrivateKey } }
 * ECPrivateKey ::= SEQUENCE { version, privateKey, [0] parameters OPTIONAL, [1] publicKey OPTIONAL }
 * SPKI ::= SEQUENCE { algorithm (the same AlgorithmIdentifier), subjectPublicKey BIT STRING }
 * Undefined for RSA, or an EC key without its public point.
 */
function spkiFromPkcs8(pkcs8: Buffer): Buffer | undefined {
  const [, algorithm, privateKey] = children(pkcs8, readElement(pkcs8, 0));
  if (algorithm === undefined || privateKey === undefined) return undefined;
  const keyType = readElement(pkcs8, algorithm.contentStart);
  if (!pkcs8.subarray(keyType.start, keyType.end).equals(EC_PUBLIC_KEY)) return undefined;
  const ecPrivateKey = readElement(pkcs8, privateKey.contentStart);
  const publicKey = children(pkcs8, ecPrivateKey).find((field) => field.tag === 0xa1);
  if (ecPrivateKey.tag !== 0x30 || publicKey === undefined) return undefined;
  const bits = readElement(pkcs8, publicKey.contentStart);
  return sequence(pkcs8.subarray(algorithm.start, algorithm.end), pkcs8.subarray(bits.start, bits.end));
}
