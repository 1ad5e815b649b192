import {
  createPublicKey,
  type KeyObject,
  X509Certificate as NodeCertificate,
  randomBytes,
} from 'node:crypto';
import type { JwtAlgorithm, X509KeyType } from '../../api/trustdomain.ts';
import { CodedError } from '../errors.ts';
import { implicit, sequence, tlv } from '../svid/der.ts';
import {
  certificateKeyId,
  exportPrivateKeyPem,
  generateJwtKeyPair,
  generateX509KeyPair,
  keyFitsJwtAlgorithm,
  keyFitsX509KeyType,
  privateKeyMatches,
  readPrivateKey,
  subjectKeyId,
  x509SigningKey,
} from './keys.ts';
import type { Authority, JwtAuthority, X509Authority } from './model.ts';
import { decodeCertificatesPem, encodePem } from './pem.ts';
import { type UpstreamCA, UpstreamError } from './upstream.ts';
import { x509 } from './x509.ts';

/** Clocks drift: SPIRE backdates its CAs by 10 s so a peer slightly behind still accepts them. */
const BACKDATE_MS = 10_000;
/** The X.520 upper bound on a common name. */
const MAX_COMMON_NAME = 64;
const NAME_CONSTRAINTS_OID = '2.5.29.30';

export interface MintX509Params {
  trustDomain: string;
  keyType: X509KeyType;
  now: Date;
  ttlMs: number;
  /** Signs the new authority; self-signed without one. */
  upstream?: UpstreamCA;
  /** Adds a critical name constraint permitting only URIs whose host is the trust domain. */
  uriNameConstraint?: boolean;
}

/**
 * A new X.509 signing authority in state Prepared: a CA certificate whose only SAN is the trust
 * domain's SPIFFE ID, living `ttlMs` from `now` but never past the upstream signer. pathLenConstraint
 * is 0 because Trustline's authorities sign only leaves: a CA certificate made under one is invalid.
 */
export async function mintX509Authority(params: MintX509Params): Promise<X509Authority> {
  const { trustDomain, keyType, now, ttlMs, upstream, uriNameConstraint = false } = params;
  const keys = await generateX509KeyPair(keyType);
  const spki = keys.publicKey.export({ type: 'spki', format: 'der' });
  const id = subjectKeyId(spki);
  const { notBefore, notAfter } = validity(now, ttlMs);
  const cappedNotAfter = upstream === undefined ? notAfter : capAt(notAfter, upstream, now);
  // The SAN carries the whole trust domain; the CN is only for people reading the certificate.
  const subject = new x509.Name([{ O: ['Trustline'] }, { CN: [trustDomain.slice(0, MAX_COMMON_NAME)] }]);
  const signer =
    upstream === undefined
      ? { name: subject, key: x509SigningKey(keys.privateKey) }
      : { name: new x509.X509Certificate(upstream.signerCertificate).subjectName, key: upstream.privateKey };

  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(16).toString('hex'),
    subject,
    issuer: signer.name,
    notBefore,
    notAfter: cappedNotAfter,
    publicKey: spki,
    signingKey: signer.key.key,
    signingAlgorithm: signer.key.algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${trustDomain}` }]),
      new x509.SubjectKeyIdentifierExtension(id),
      ...(upstream === undefined ? [] : [new x509.AuthorityKeyIdentifierExtension(upstream.signerId)]),
      ...(uriNameConstraint ? [uriNameConstraintExtension(trustDomain)] : []),
    ],
  });

  return {
    type: 'X509',
    id,
    state: 'Prepared',
    keyType,
    notBefore: certificate.notBefore.toISOString(),
    notAfter: certificate.notAfter.toISOString(),
    privateKey: exportPrivateKeyPem(keys.privateKey),
    certificate: encodePem('CERTIFICATE', new Uint8Array(certificate.rawData)),
    ...(upstream === undefined
      ? {}
      : { upstream: { signerId: upstream.signerId, rootId: upstream.rootId, chain: upstream.chain } }),
  };
}

export interface MintJwtParams {
  algorithm: JwtAlgorithm;
  now: Date;
  ttlMs: number;
}

/** A new JWT signing key in state Prepared, with a random `kid`. */
export async function mintJwtAuthority({ algorithm, now, ttlMs }: MintJwtParams): Promise<JwtAuthority> {
  const keys = await generateJwtKeyPair(algorithm);
  const { kty, ...members } = keys.publicKey.export({ format: 'jwk' });
  if (kty === undefined) throw new Error('Node exported a JWK without kty');
  const { notBefore, notAfter } = validity(now, ttlMs);
  return {
    type: 'JWT',
    // 24 random bytes: 32 URL-safe characters, unguessable and collision-free.
    id: randomBytes(24).toString('base64url'),
    state: 'Prepared',
    algorithm,
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
    privateKey: exportPrivateKeyPem(keys.privateKey),
    publicKey: { kty, ...members },
  };
}

/**
 * NameConstraints (RFC 5280, 4.2.1.10) with one permitted subtree, the URI host `trustDomain`. Critical,
 * as the RFC requires. Only URIs are constrained: DNS names in leaves stay as the claim rules allow.
 */
function uriNameConstraintExtension(trustDomain: string) {
  // permittedSubtrees [0] IMPLICIT GeneralSubtrees { GeneralSubtree { base uniformResourceIdentifier [6] } }
  const subtree = sequence(implicit(6, Buffer.from(trustDomain, 'ascii')));
  const value = sequence(tlv(0xa0, subtree));
  return new x509.Extension(NAME_CONSTRAINTS_OID, true, new Uint8Array(value));
}

/** Whole seconds, as certificates hold them, so the journal and the certificate agree. */
function validity(now: Date, ttlMs: number): { notBefore: Date; notAfter: Date } {
  const second = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);
  return { notBefore: second(now.getTime() - BACKDATE_MS), notAfter: second(now.getTime() + ttlMs) };
}

/** A certificate outliving its issuer would be rejected from the moment the issuer expires. */
function capAt(notAfter: Date, upstream: UpstreamCA, now: Date): Date {
  const signerNotAfter = new Date(upstream.notAfter);
  if (signerNotAfter <= now) {
    throw new UpstreamError(
      'SignerExpired',
      `the upstream signing certificate expired at ${upstream.notAfter}`,
    );
  }
  return signerNotAfter < notAfter ? signerNotAfter : notAfter;
}

export type AuthorityIntegrityErrorCode =
  | 'CertificateUnreadable'
  | 'PublicKeyUnreadable'
  | 'KeyUnreadable'
  | 'KeyMismatch'
  | 'IdMismatch'
  | 'ValidityMismatch'
  | 'SignatureInvalid';

/** A stored authority whose parts do not agree with each other. Messages never quote the key. */
export class AuthorityIntegrityError extends CodedError<AuthorityIntegrityErrorCode> {}

/**
 * Checks that a stored authority is whole: its certificate or public key reads, its private key is
 * the matching one of the recorded kind, and its id and validity are the certificate's.
 */
export function checkAuthority(authority: Authority): void {
  let privateKey: KeyObject;
  try {
    privateKey = readPrivateKey(authority.privateKey);
  } catch {
    throw new AuthorityIntegrityError('KeyUnreadable', 'the private key is not a readable PEM private key');
  }
  if (authority.type === 'X509') checkX509Authority(authority, privateKey);
  else checkJwtAuthority(authority, privateKey);
}

function checkX509Authority(authority: X509Authority, privateKey: KeyObject): void {
  const certificate = readCertificate(authority.certificate, 'the certificate');
  if (certificateKeyId(certificate.parsed) !== authority.id) {
    throw new AuthorityIntegrityError('IdMismatch', "the id is not the certificate's subject key identifier");
  }
  if (!privateKeyMatches(privateKey, certificate.node.publicKey)) {
    throw new AuthorityIntegrityError('KeyMismatch', "the private key is not the certificate's");
  }
  if (!keyFitsX509KeyType(privateKey, authority.keyType)) {
    throw new AuthorityIntegrityError('KeyMismatch', `the key is not an ${authority.keyType} key`);
  }
  if (
    Date.parse(authority.notBefore) !== certificate.parsed.notBefore.getTime() ||
    Date.parse(authority.notAfter) !== certificate.parsed.notAfter.getTime()
  ) {
    throw new AuthorityIntegrityError('ValidityMismatch', "notBefore and notAfter are not the certificate's");
  }
  let issuer = certificate;
  if (authority.upstream !== undefined) {
    const [signer] = authority.upstream.chain;
    if (signer === undefined) {
      throw new AuthorityIntegrityError('CertificateUnreadable', 'the upstream chain is empty');
    }
    issuer = readCertificate(signer, 'the upstream signing certificate');
    if (certificateKeyId(issuer.parsed) !== authority.upstream.signerId) {
      throw new AuthorityIntegrityError('IdMismatch', "the upstream signer id is not its certificate's");
    }
  }
  if (!certificate.node.verify(issuer.node.publicKey)) {
    throw new AuthorityIntegrityError(
      'SignatureInvalid',
      authority.upstream === undefined
        ? 'the self-signed certificate does not verify with its own key'
        : 'the certificate does not verify with the upstream signing certificate',
    );
  }
}

function checkJwtAuthority(authority: JwtAuthority, privateKey: KeyObject): void {
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: authority.publicKey, format: 'jwk' });
  } catch {
    throw new AuthorityIntegrityError('PublicKeyUnreadable', 'the public key is not a valid JWK');
  }
  if (!privateKeyMatches(privateKey, publicKey)) {
    throw new AuthorityIntegrityError('KeyMismatch', "the private key is not the public key's");
  }
  if (!keyFitsJwtAlgorithm(privateKey, authority.algorithm)) {
    throw new AuthorityIntegrityError(
      'KeyMismatch',
      `the key is not the kind ${authority.algorithm} signs with`,
    );
  }
}

function readCertificate(pem: string, what: string) {
  try {
    const [der, ...rest] = decodeCertificatesPem(pem);
    if (der !== undefined && rest.length === 0) {
      return { node: new NodeCertificate(der), parsed: new x509.X509Certificate(der) };
    }
  } catch {
    // Reported below, the same way as a text with no certificate or several.
  }
  throw new AuthorityIntegrityError('CertificateUnreadable', `${what} is not one PEM X.509 certificate`);
}
