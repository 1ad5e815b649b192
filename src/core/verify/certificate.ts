import { X509Certificate as NodeCertificate } from 'node:crypto';
import type { X509Certificate } from '@peculiar/x509';
import { certificateKeyId } from '../authorities/keys.ts';
import { decodeCertificatesPem, PemError } from '../authorities/pem.ts';
import { x509 } from '../authorities/x509.ts';

/**
 * A certificate read twice: node:crypto checks issuers and signatures synchronously (so rules stay
 * synchronous), @peculiar/x509 decodes the extensions node:crypto does not expose.
 */
export interface Certificate {
  readonly der: Buffer;
  readonly node: NodeCertificate;
  readonly parsed: X509Certificate;
}

/** Input that holds no readable certificate; the message says where without quoting the content. */
export class CertificateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CertificateError';
  }
}

export function readCertificate(der: Uint8Array, what: string): Certificate {
  try {
    const bytes = Buffer.from(der);
    return { der: bytes, node: new NodeCertificate(bytes), parsed: new x509.X509Certificate(bytes) };
  } catch {
    throw new CertificateError(`${what} is not a DER X.509 certificate`);
  }
}

/** Every certificate of a PEM text, in order: an SVID's leaf first, then its intermediates. */
export function readCertificatesPem(pem: string): [Certificate, ...Certificate[]] {
  let blocks: Buffer[];
  try {
    blocks = decodeCertificatesPem(pem);
  } catch (error) {
    if (error instanceof PemError) throw new CertificateError(error.message);
    throw error;
  }
  const [first, ...rest] = blocks;
  if (first === undefined) throw new CertificateError('no PEM CERTIFICATE block');
  return [
    readCertificate(first, 'PEM block 1'),
    ...rest.map((der, index) => readCertificate(der, `PEM block ${index + 2}`)),
  ];
}

export const uriSans = (certificate: Certificate): string[] =>
  (certificate.parsed.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [])
    .filter((name) => name.type === 'url')
    .map((name) => name.value);

export const isCa = (certificate: Certificate): boolean =>
  certificate.parsed.getExtension(x509.BasicConstraintsExtension)?.ca === true;

export const keyUsageOf = (certificate: Certificate): { usages: number; critical: boolean } | undefined =>
  certificate.parsed.getExtension(x509.KeyUsagesExtension) ?? undefined;

export const extendedKeyUsagesOf = (certificate: Certificate): string[] | undefined =>
  certificate.parsed.getExtension(x509.ExtendedKeyUsageExtension)?.usages.map(String);

/** The subject key identifier as Trustline names X.509 authorities: lower-case hex. */
export const keyIdOf = (certificate: Certificate): string => certificateKeyId(certificate.parsed);

/** Whether `issuer` signed `subject`: names and key identifiers match and the signature verifies. */
export const issued = (issuer: Certificate, subject: Certificate): boolean =>
  subject.node.checkIssued(issuer.node) && subject.node.verify(issuer.node.publicKey);

/** Why the certificate is not valid at `now`, or undefined when it is. */
export function validityProblem(certificate: Certificate, now: Date, what: string): string | undefined {
  const { notBefore, notAfter } = certificate.parsed;
  if (now < notBefore) return `${what} is not valid before ${notBefore.toISOString()}`;
  if (now > notAfter) return `${what} expired at ${notAfter.toISOString()}`;
  return undefined;
}
