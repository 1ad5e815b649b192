import { sign } from 'node:crypto';
import { subjectKeyId } from '../authorities/keys.ts';
import { encodePem } from '../authorities/pem.ts';
import {
  bitString,
  boolean,
  explicit,
  implicit,
  namedBits,
  octetString,
  oid,
  printableString,
  sequence,
  set,
  smallInteger,
  time,
  unsignedInteger,
} from './der.ts';
import {
  type CertificatePlan,
  enciphers,
  OIDS,
  planCertificate,
  planLeaf,
  SUBJECT_ORGANIZATION,
  type SubjectKeyRequest,
  serialHex,
} from './profile.ts';
import type { SignedX509Svid, X509Svid, X509SvidParams, X509SvidSigner } from './x509-types.ts';

export { prepareX509Signer } from './x509-signer.ts';
export type { SignedX509Svid, X509Svid, X509SvidParams, X509SvidSigner } from './x509-types.ts';

const extension = (id: string, critical: boolean, value: Uint8Array): Buffer =>
  critical ? sequence(oid(id), boolean(true), octetString(value)) : sequence(oid(id), octetString(value));
// The parts of the profile that never change, encoded once.
const VERSION_3 = explicit(0, smallInteger(2));
const SUBJECT = sequence(set(sequence(oid(OIDS.organization), printableString(SUBJECT_ORGANIZATION))));
// cA=false is the DEFAULT, which DER leaves out: an empty sequence.
const BASIC_CONSTRAINTS = extension(OIDS.basicConstraints, true, sequence());
// keyUsage bits: digitalSignature (0), keyEncipherment (2).
const KEY_USAGE_EC = extension(OIDS.keyUsage, true, namedBits([0]));
const KEY_USAGE_RSA = extension(OIDS.keyUsage, true, namedBits([0, 2]));
const EXT_KEY_USAGE = extension(
  OIDS.extKeyUsage,
  false,
  sequence(oid(OIDS.serverAuth), oid(OIDS.clientAuth)),
);
const SKI_OID = oid(OIDS.subjectKeyIdentifier);
const SAN_OID = oid(OIDS.subjectAltName);

/**
 * Mints an X.509-SVID by writing its DER directly around a fresh key, then signing it with the
 * authority's key: the same certificate as mintX509SvidWithBuilder, without a generic builder's costs.
 */
export async function mintX509Svid(signer: X509SvidSigner, params: X509SvidParams): Promise<X509Svid> {
  const plan = await planLeaf(signer, params);
  return { ...encodeSvid(signer, plan), privateKey: plan.key.privateKey };
}

/** Signs an X.509-SVID for a public key whose private half Trustline never sees, such as a kubelet's. */
export function signX509Svid(signer: X509SvidSigner, request: SubjectKeyRequest): SignedX509Svid {
  return encodeSvid(signer, planCertificate(signer, request));
}

function encodeSvid(signer: X509SvidSigner, plan: CertificatePlan): SignedX509Svid {
  const { spiffeId, dnsNames, keyType, notBefore, notAfter, serial, spki } = plan;
  const sans = [implicit(6, Buffer.from(spiffeId, 'latin1'))];
  for (const name of dnsNames) sans.push(implicit(2, Buffer.from(name, 'latin1')));
  const tbs = sequence(
    VERSION_3,
    unsignedInteger(serial),
    signer.signatureAlgorithm,
    signer.issuer,
    sequence(time(notBefore), time(notAfter)),
    SUBJECT,
    spki,
    explicit(
      3,
      sequence(
        BASIC_CONSTRAINTS,
        enciphers(keyType) ? KEY_USAGE_RSA : KEY_USAGE_EC,
        EXT_KEY_USAGE,
        sequence(SKI_OID, octetString(octetString(Buffer.from(subjectKeyId(spki), 'hex')))),
        signer.authorityKeyIdentifier,
        // Non-critical, as RFC 5280 section 4.2.1.6 recommends when the subject is not empty.
        sequence(SAN_OID, octetString(sequence(...sans))),
      ),
    ),
  );
  // ECDSA signatures come DER-encoded (Ecdsa-Sig-Value), as X.509 wants them: node's default.
  const signature = sign(signer.hash, tbs, signer.privateKey);
  const certificate = sequence(tbs, signer.signatureAlgorithm, bitString(signature));

  return {
    certificate: encodePem('CERTIFICATE', certificate),
    chain: [...signer.chain],
    serial: serialHex(serial),
    notBefore,
    notAfter,
    authorityId: signer.authorityId,
    keyType,
  };
}
