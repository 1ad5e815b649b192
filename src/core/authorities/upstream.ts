import { type KeyObject, X509Certificate as NodeCertificate } from 'node:crypto';
import type { X509Certificate } from '@peculiar/x509';
import { UPSTREAM_CERT_KEY, UPSTREAM_PRIVATE_KEY_KEY, UPSTREAM_ROOTS_KEY } from '../../api/well-known.ts';
import { CodedError } from '../errors.ts';
import {
  certificateKeyId,
  KeyError,
  privateKeyMatches,
  readPrivateKey,
  type X509SigningKey,
  x509SigningKey,
} from './keys.ts';
import { decodeCertificatesPem, encodePem, PemError } from './pem.ts';
import { x509 } from './x509.ts';

/** A root certificate of the upstream CA, published in the trust bundle. */
export interface UpstreamRoot {
  /** Subject key identifier, lower-case hex. */
  id: string;
  certificate: string;
  notBefore: string;
  notAfter: string;
}

/** An upstream CA that signs Trustline's X.509 authorities, read from its Secret. */
export interface UpstreamCA {
  /** Subject key identifier of the signing certificate, lower-case hex. */
  signerId: string;
  /** The signing certificate, PEM. */
  signerCertificate: string;
  /** tls.crt's certificates, PEM, signer first: what SVIDs carry after Trustline's authority. */
  chain: string[];
  /** Subject key identifier of the root in ca.crt that the signer chains to. */
  rootId: string;
  privateKey: X509SigningKey;
  /** When the signing certificate expires; authorities it signs end no later. */
  notAfter: string;
  roots: UpstreamRoot[];
}

export type UpstreamErrorCode =
  | 'MissingData'
  | 'CertificateUnreadable'
  | 'KeyUnreadable'
  | 'SignerNotCA'
  | 'KeyMismatch'
  | 'NoRoots'
  | 'SignerExpired'
  | 'SignerNotYetValid'
  | 'NotChained';

/** Why an upstream CA Secret cannot be used, worded for the person who fixes the Secret. */
export class UpstreamError extends CodedError<UpstreamErrorCode> {}

/** Both readings of one certificate: Node's verifies signatures, @peculiar/x509's reads extensions. */
interface Certificate {
  node: NodeCertificate;
  parsed: X509Certificate;
}

const SECRET_KEYS = [UPSTREAM_CERT_KEY, UPSTREAM_PRIVATE_KEY_KEY, UPSTREAM_ROOTS_KEY] as const;

/**
 * Reads and checks an upstream CA Secret's data (already base64-decoded): tls.crt holds the signing
 * certificate then its chain, tls.key its private key, ca.crt the roots to publish.
 */
export function parseUpstreamCA(data: Record<string, string>, now: Date): UpstreamCA {
  const missing = SECRET_KEYS.filter((key) => data[key] === undefined);
  if (missing.length > 0) {
    throw new UpstreamError(
      'MissingData',
      `missing ${missing.join(' and ')}: the Secret needs tls.crt (the signing certificate, then its chain), tls.key (its private key) and ca.crt (the root certificates)`,
    );
  }
  const chain = readCertificates(data, UPSTREAM_CERT_KEY);
  const [signer] = chain;
  if (signer === undefined) {
    throw new UpstreamError(
      'CertificateUnreadable',
      'tls.crt holds no certificate; put the signing certificate first',
    );
  }
  const roots = readCertificates(data, UPSTREAM_ROOTS_KEY);
  if (roots.length === 0) {
    throw new UpstreamError(
      'NoRoots',
      'ca.crt holds no certificate; put the root certificate(s) of the upstream CA there',
    );
  }
  const { privateKey, signingKey } = readSignerKey(data[UPSTREAM_PRIVATE_KEY_KEY] ?? '');
  checkSigner(signer, privateKey, now);
  const reached = rootReached(signer, chain.slice(1), roots);
  if ('unchained' in reached) {
    const { unchained } = reached;
    const where =
      unchained === signer
        ? 'no certificate in tls.crt or ca.crt signed it'
        : `its chain stops at ${unchained.parsed.subject}, which no certificate in tls.crt or ca.crt signed`;
    throw new UpstreamError('NotChained', `${describe(signer)} does not chain to a root in ca.crt: ${where}`);
  }
  return {
    signerId: certificateKeyId(signer.parsed),
    signerCertificate: pemOf(signer),
    chain: chain.map(pemOf),
    rootId: certificateKeyId(reached.root.parsed),
    privateKey: signingKey,
    notAfter: signer.parsed.notAfter.toISOString(),
    roots: roots.map((root) => ({
      id: certificateKeyId(root.parsed),
      certificate: pemOf(root),
      notBefore: root.parsed.notBefore.toISOString(),
      notAfter: root.parsed.notAfter.toISOString(),
    })),
  };
}

const describe = (signer: Certificate): string => `tls.crt's first certificate (${signer.parsed.subject})`;

/** The signer may sign certificates, with this key, at `now`. */
function checkSigner(signer: Certificate, privateKey: KeyObject, now: Date): void {
  const name = describe(signer);
  // Node's `ca` also demands keyCertSign; asking for each separately names what is missing.
  if (signer.parsed.getExtension(x509.BasicConstraintsExtension)?.ca !== true) {
    throw new UpstreamError('SignerNotCA', `${name} is not a CA: it lacks basicConstraints cA=true`);
  }
  const keyUsage = signer.parsed.getExtension(x509.KeyUsagesExtension);
  if (keyUsage === null || (keyUsage.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    throw new UpstreamError(
      'SignerNotCA',
      `${name} may not sign certificates: its keyUsage lacks keyCertSign`,
    );
  }
  if (!privateKeyMatches(privateKey, signer.node.publicKey)) {
    throw new UpstreamError('KeyMismatch', `tls.key is not the private key of ${name}`);
  }
  if (now < signer.parsed.notBefore) {
    throw new UpstreamError(
      'SignerNotYetValid',
      `${name} is not valid until ${signer.parsed.notBefore.toISOString()}`,
    );
  }
  if (now > signer.parsed.notAfter) {
    throw new UpstreamError('SignerExpired', `${name} expired at ${signer.parsed.notAfter.toISOString()}`);
  }
}

function readCertificates(
  data: Record<string, string>,
  key: typeof UPSTREAM_CERT_KEY | typeof UPSTREAM_ROOTS_KEY,
): Certificate[] {
  let ders: Buffer[];
  try {
    ders = decodeCertificatesPem(data[key] ?? '');
  } catch (error) {
    const reason = error instanceof PemError ? error.message : 'it is not PEM';
    throw new UpstreamError('CertificateUnreadable', `${key} is not readable PEM: ${reason}`);
  }
  return ders.map((der, index) => {
    try {
      return { node: new NodeCertificate(der), parsed: new x509.X509Certificate(der) };
    } catch {
      throw new UpstreamError(
        'CertificateUnreadable',
        `${key}: PEM block ${index + 1} is not a valid X.509 certificate`,
      );
    }
  });
}

function readSignerKey(pem: string): { privateKey: KeyObject; signingKey: X509SigningKey } {
  try {
    const privateKey = readPrivateKey(pem);
    return { privateKey, signingKey: x509SigningKey(privateKey) };
  } catch (error) {
    const reason = error instanceof KeyError ? error.message : 'it cannot be read';
    throw new UpstreamError(
      'KeyUnreadable',
      `tls.key is not a usable private key: ${reason}. Use an unencrypted PKCS#8, SEC1 or PKCS#1 PEM key`,
    );
  }
}

/**
 * Walks from `signer` up through `intermediates` until a root signed the certificate reached (or is
 * the signer itself). Returns that root, or the certificate no one signed.
 */
function rootReached(
  signer: Certificate,
  intermediates: readonly Certificate[],
  roots: readonly Certificate[],
): { root: Certificate } | { unchained: Certificate } {
  const itself = roots.find((root) => root.node.raw.equals(signer.node.raw));
  if (itself !== undefined) return { root: itself };
  const unused = [...intermediates];
  let current = signer;
  for (;;) {
    const root = roots.find((candidate) => signed(candidate, current));
    if (root !== undefined) return { root };
    const index = unused.findIndex((candidate) => signed(candidate, current));
    const issuer = unused[index];
    if (issuer === undefined) return { unchained: current };
    unused.splice(index, 1);
    current = issuer;
  }
}

/** Issuer name and key identifiers line up, and the signature verifies with the issuer's key. */
const signed = (issuer: Certificate, subject: Certificate): boolean =>
  subject.node.checkIssued(issuer.node) && subject.node.verify(issuer.node.publicKey);

const pemOf = (certificate: Certificate): string => encodePem('CERTIFICATE', certificate.node.raw);
