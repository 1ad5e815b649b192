import type { Name } from '@peculiar/x509';
import { subjectKeyId, type X509SigningKey, x509SigningKey } from '../authorities/keys.ts';
import { encodePem } from '../authorities/pem.ts';
import { x509 } from '../authorities/x509.ts';
import { enciphers, OIDS, planLeaf, SUBJECT_ORGANIZATION, serialHex } from './profile.ts';
import type { X509Svid, X509SvidParams, X509SvidSigner } from './x509-types.ts';

/** What @peculiar/x509 needs of a signer, made once per signer like the hand-built path's parts. */
interface BuilderParts {
  key: X509SigningKey;
  issuer: Name;
}

const prepared = new WeakMap<X509SvidSigner, BuilderParts>();

function partsOf(signer: X509SvidSigner): BuilderParts {
  let parts = prepared.get(signer);
  if (parts === undefined) {
    parts = { key: x509SigningKey(signer.privateKey), issuer: new x509.Name(signer.issuer) };
    prepared.set(signer, parts);
  }
  return parts;
}

/**
 * Mints the same X.509-SVID as mintX509Svid with @peculiar/x509's generic certificate builder: the
 * reference the hand-written DER is tested and measured against.
 */
export async function mintX509SvidWithBuilder(
  signer: X509SvidSigner,
  params: X509SvidParams,
): Promise<X509Svid> {
  const {
    spiffeId,
    dnsNames,
    keyType,
    notBefore,
    notAfter,
    serial,
    key: { spki, privateKey },
  } = await planLeaf(signer, params);
  const { key, issuer } = partsOf(signer);
  const usages =
    x509.KeyUsageFlags.digitalSignature | (enciphers(keyType) ? x509.KeyUsageFlags.keyEncipherment : 0);

  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial.toString('hex'),
    subject: new x509.Name([{ O: [SUBJECT_ORGANIZATION] }]),
    issuer,
    notBefore,
    notAfter,
    publicKey: spki,
    signingKey: key.key,
    signingAlgorithm: key.algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(usages, true),
      new x509.ExtendedKeyUsageExtension([OIDS.serverAuth, OIDS.clientAuth], false),
      new x509.SubjectKeyIdentifierExtension(subjectKeyId(spki)),
      new x509.AuthorityKeyIdentifierExtension(signer.authorityId),
      new x509.SubjectAlternativeNameExtension(
        [{ type: 'url', value: spiffeId }, ...dnsNames.map((value) => ({ type: 'dns' as const, value }))],
        false,
      ),
    ],
  });

  return {
    certificate: encodePem('CERTIFICATE', new Uint8Array(certificate.rawData)),
    chain: [...signer.chain],
    privateKey,
    serial: serialHex(serial),
    notBefore,
    notAfter,
    authorityId: signer.authorityId,
    keyType,
  };
}
