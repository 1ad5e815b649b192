import type { KeyObject } from 'node:crypto';
import type { X509KeyType } from '../../api/trustdomain.ts';

/*
 * The shapes X.509-SVID signing passes between the profile, the signer and the minting code; kept
 * apart from all three so that none of them imports another to name them.
 */

/**
 * An X.509 authority made ready to sign SVIDs: what is the same for all its SVIDs is read and
 * encoded once here, so minting does only the per-SVID work.
 */
export interface X509SvidSigner {
  /** The authority's subject key identifier, lower-case hex: its id and every SVID's AKI. */
  readonly authorityId: string;
  /** The trust domain of the authority certificate's `spiffe://` URI SAN. */
  readonly trustDomain: string;
  /** SVIDs end no later than their authority. */
  readonly notAfter: Date;
  readonly privateKey: KeyObject;
  /** The digest the authority signs with: SHA-384 for P-384, SHA-256 for P-256 and RSA. */
  readonly hash: 'sha256' | 'sha384';
  /** DER of the authority certificate's subject, copied byte for byte so the names chain exactly. */
  readonly issuer: Buffer;
  /** DER of the signature's AlgorithmIdentifier. */
  readonly signatureAlgorithm: Buffer;
  /** DER of the whole authorityKeyIdentifier extension. */
  readonly authorityKeyIdentifier: Buffer;
  /** PEM certificates that follow the leaf: none for a self-signed authority. */
  readonly chain: readonly string[];
}

export interface X509SvidParams {
  /** `spiffe://<the authority's trust domain>/<path>`: the only URI SAN. */
  spiffeId: string;
  /** Further dNSName SANs, lower case, optionally with a leading `*.`. */
  dnsNames?: readonly string[];
  /** The leaf key's type; EC-P256 unless given. */
  keyType?: X509KeyType;
  ttlMs: number;
  now: Date;
}

/** An X.509-SVID without its private key: what signing someone else's public key yields. */
export interface SignedX509Svid {
  /** The leaf certificate, PEM. */
  certificate: string;
  /** PEM certificates that follow the leaf up to the roots' issuer; empty for a self-signed authority. */
  chain: string[];
  /** Lower-case hex of the serial number. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  authorityId: string;
  keyType: X509KeyType;
}

export interface X509Svid extends SignedX509Svid {
  /** The leaf's private key, PKCS#8 PEM. */
  privateKey: string;
}
