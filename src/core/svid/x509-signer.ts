import { type KeyObject, X509Certificate as NodeCertificate } from 'node:crypto';
import type { X509Certificate } from '@peculiar/x509';
import { certificateKeyId, privateKeyMatches, readPrivateKey } from '../authorities/keys.ts';
import type { X509Authority } from '../authorities/model.ts';
import { decodeCertificatesPem, encodePem } from '../authorities/pem.ts';
import { x509 } from '../authorities/x509.ts';
import { children, implicit, nullValue, octetString, oid, readElement, sequence, TAG } from './der.ts';
import { OIDS } from './profile.ts';
import { SvidError } from './validation.ts';
import type { X509SvidSigner } from './x509-types.ts';

export type { X509SvidSigner } from './x509-types.ts';

const unusable = (message: string) => new SvidError('AuthorityUnusable', message);

/** Reads the authority once; throws AuthorityUnusable when its parts cannot sign SVIDs. */
export function prepareX509Signer(authority: X509Authority): X509SvidSigner {
  const { id } = authority;
  const [der, ...more] = readCertificates(authority.certificate, id);
  if (der === undefined || more.length > 0) {
    throw unusable(`the certificate of authority ${id} is not one PEM certificate`);
  }
  let node: NodeCertificate;
  let parsed: X509Certificate;
  try {
    node = new NodeCertificate(der);
    parsed = new x509.X509Certificate(der);
  } catch {
    throw unusable(`the certificate of authority ${id} is not a valid X.509 certificate`);
  }
  if (!/^(?:[0-9a-f]{2})+$/.test(id) || certificateKeyId(parsed) !== id) {
    throw unusable(`the id of authority ${id} is not its certificate's subject key identifier`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = readPrivateKey(authority.privateKey);
  } catch {
    throw unusable(`the private key of authority ${id} is not readable`);
  }
  if (!privateKeyMatches(privateKey, node.publicKey)) {
    throw unusable(`the private key of authority ${id} is not its certificate's`);
  }
  const { hash, algorithm } = signatureOf(privateKey, id);
  return {
    authorityId: id,
    trustDomain: trustDomainOf(parsed, id),
    notAfter: parsed.notAfter,
    privateKey,
    hash,
    issuer: subjectOf(der),
    signatureAlgorithm: algorithm,
    authorityKeyIdentifier: sequence(
      oid(OIDS.authorityKeyIdentifier),
      // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING OPTIONAL, ... }
      octetString(sequence(implicit(0, Buffer.from(id, 'hex')))),
    ),
    // Verifiers need the path up to the roots they hold: the authority, then what its upstream sent.
    chain:
      authority.upstream === undefined
        ? []
        : [authority.certificate, ...authority.upstream.chain]
            .flatMap((pem) => readCertificates(pem, id))
            .map((block) => encodePem('CERTIFICATE', block)),
  };
}

function readCertificates(pem: string, id: string): Buffer[] {
  try {
    return decodeCertificatesPem(pem);
  } catch {
    throw unusable(`a certificate of authority ${id} or its upstream chain is not PEM`);
  }
}

/** The hash follows the curve, as for the authorities themselves; RSA signs with SHA-256. */
function signatureOf(key: KeyObject, id: string): { hash: 'sha256' | 'sha384'; algorithm: Buffer } {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType === 'ec' && curve === 'prime256v1') {
    return { hash: 'sha256', algorithm: sequence(oid(OIDS.ecdsaWithSha256)) };
  }
  if (key.asymmetricKeyType === 'ec' && curve === 'secp384r1') {
    return { hash: 'sha384', algorithm: sequence(oid(OIDS.ecdsaWithSha384)) };
  }
  if (key.asymmetricKeyType === 'rsa') {
    // RFC 4055: the parameters of sha256WithRSAEncryption are an explicit NULL.
    return { hash: 'sha256', algorithm: sequence(oid(OIDS.sha256WithRsa), nullValue()) };
  }
  throw unusable(`authority ${id} has a key that is not EC P-256, EC P-384 or RSA`);
}

/** An authority certificate names its trust domain, and nothing else, as its only URI SAN. */
function trustDomainOf(certificate: X509Certificate, id: string): string {
  const names = certificate.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  const uris = names.filter((name) => name.type === 'url').map((name) => name.value);
  const match = uris.length === 1 ? /^spiffe:\/\/([a-z0-9._-]+)$/.exec(uris[0] ?? '') : null;
  if (match?.[1] === undefined) {
    throw unusable(
      `the certificate of authority ${id} does not name one trust domain as spiffe://<trust domain>`,
    );
  }
  return match[1];
}

/** TBSCertificate ::= SEQUENCE { [0] version, serialNumber, signature, issuer, validity, subject, ... } */
function subjectOf(der: Buffer): Buffer {
  const [tbs] = children(der, readElement(der, 0));
  const fields = tbs === undefined ? [] : children(der, tbs);
  const subject = fields[fields[0]?.tag === 0xa0 ? 5 : 4];
  if (subject === undefined || subject.tag !== TAG.sequence)
    throw new RangeError('no subject in the certificate');
  return Buffer.from(der.subarray(subject.start, subject.end));
}
