import {
  ANNOTATION_SVID_AUTHORITY_ID,
  ANNOTATION_SVID_NOT_AFTER,
  ANNOTATION_SVID_SERIAL,
  ANNOTATION_SVID_SPEC_HASH,
  ANNOTATION_SVID_SPIFFE_ID,
  SVID_CERT_KEY,
  SVID_PRIVATE_KEY_KEY,
  TLS_CERT_KEY,
  TLS_PRIVATE_KEY_KEY,
} from '../../api/well-known.ts';
import { keyFitsX509KeyType } from '../authorities/keys.ts';
import { decodePem } from '../authorities/pem.ts';
import type { IssuanceInput, ReissuePolicy } from './identity.ts';
import { type Leaf, readLeaf, readSecret, readText, trigger } from './observed-secret.ts';
import { ReissueReason } from './reissue-reason.ts';
import { normalizeSerial } from './serial.ts';
import { specHash } from './spec-hash.ts';

/**
 * The X.509-SVID's re-issue policies on what the Secret records of its issuance (the spec it was
 * issued for, its serial and signer) against the certificate it holds, and on that signer's standing.
 */

export const specChanged: ReissuePolicy = (input) => {
  const secret = readSecret(input);
  if (secret.trigger !== undefined) return secret.trigger;
  const recorded = secret.value.annotations[ANNOTATION_SVID_SPEC_HASH];
  if (recorded === undefined) {
    return trigger(
      ReissueReason.SpecChanged,
      `the Secret has no ${ANNOTATION_SVID_SPEC_HASH} annotation, so the spec it was issued for is unknown`,
    );
  }
  if (recorded !== specHash(input.spec)) {
    return trigger(
      ReissueReason.SpecChanged,
      'the SPIFFE ID, DNS names, key type or X.509 lifetime changed since the SVID was issued',
    );
  }
  // The hash can be copied along with a hand-made key; the key type is checked on the certificate too.
  const leaf = readLeaf(input);
  if (leaf.trigger !== undefined) return leaf.trigger;
  if (keyFitsX509KeyType(leaf.value.publicKey, input.spec.keyType)) return undefined;
  return trigger(ReissueReason.SpecChanged, `the certificate's key is not an ${input.spec.keyType} key`);
};

/** Equal when both hold the same PEM blocks, whatever the line wrapping. */
function samePem(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    const left = decodePem(a);
    const right = decodePem(b);
    return (
      left.length > 0 &&
      left.length === right.length &&
      left.every((block, i) => {
        const other = right[i];
        return other !== undefined && block.label === other.label && block.der.equals(other.der);
      })
    );
  } catch {
    return false;
  }
}

export const handEdited: ReissuePolicy = (input) => {
  const leaf = readLeaf(input);
  if (leaf.trigger !== undefined) return leaf.trigger;
  const edited = (message: string) => trigger(ReissueReason.HandEdited, message);
  // The spiffe-helper names are copies of the cert-manager ones; pods may read either.
  const copies = [
    { copy: SVID_CERT_KEY, original: TLS_CERT_KEY, what: 'the certificate chain' },
    { copy: SVID_PRIVATE_KEY_KEY, original: TLS_PRIVATE_KEY_KEY, what: 'the private key' },
  ];
  for (const { copy, original, what } of copies) {
    const copyText = readText(input, copy);
    if (copyText.trigger !== undefined) return copyText.trigger;
    const originalText = readText(input, original);
    if (originalText.trigger !== undefined) return originalText.trigger;
    if (!samePem(copyText.value, originalText.value)) return edited(`${copy} is not ${what} in ${original}`);
  }
  // input.secret is defined: readLeaf succeeded.
  const annotations = input.secret?.annotations ?? {};
  const certificate = leaf.value;
  const serial = normalizeSerial(certificate.serialNumber);
  const recordedSerial = annotations[ANNOTATION_SVID_SERIAL];
  if (recordedSerial === undefined) return edited(`the Secret has no ${ANNOTATION_SVID_SERIAL} annotation`);
  if (normalizeSerial(recordedSerial) !== serial) {
    return edited(`the serial annotation ${recordedSerial} is not the certificate's serial ${serial}`);
  }
  const recordedAuthority = annotations[ANNOTATION_SVID_AUTHORITY_ID];
  const { authorityKeyId } = leaf.value;
  if (
    recordedAuthority !== undefined &&
    authorityKeyId !== undefined &&
    recordedAuthority.toLowerCase() !== authorityKeyId
  ) {
    return edited(
      `the authority annotation ${recordedAuthority} is not the certificate's authority key identifier ${authorityKeyId}`,
    );
  }
  const recordedId = annotations[ANNOTATION_SVID_SPIFFE_ID];
  const [uri] = leaf.value.uris;
  if (recordedId !== undefined && uri !== undefined && recordedId !== uri) {
    return edited(`the SPIFFE ID annotation ${recordedId} is not the certificate's ${uri}`);
  }
  const recordedNotAfter = annotations[ANNOTATION_SVID_NOT_AFTER];
  if (recordedNotAfter !== undefined && Date.parse(recordedNotAfter) !== certificate.notAfter.getTime()) {
    return edited(
      `the notAfter annotation ${recordedNotAfter} is not the certificate's ${certificate.notAfter.toISOString()}`,
    );
  }
  return undefined;
};

/** The certificate's authority key identifier, or the annotation when the certificate has none. */
function issuingAuthority(input: IssuanceInput, leaf: Leaf): string | undefined {
  return leaf.authorityKeyId ?? input.secret?.annotations[ANNOTATION_SVID_AUTHORITY_ID]?.toLowerCase();
}

export const authorityGone: ReissuePolicy = (input) => {
  const leaf = readLeaf(input);
  if (leaf.trigger !== undefined) return leaf.trigger;
  const id = issuingAuthority(input, leaf.value);
  const successor = `the active authority ${input.activeAuthorityIds.x509} signs anew`;
  if (id === undefined) {
    return trigger(
      ReissueReason.AuthorityGone,
      `neither the certificate nor the Secret names the authority that signed it; ${successor}`,
    );
  }
  if (input.publishableAuthorityIds.x509.some((published) => published.toLowerCase() === id))
    return undefined;
  return trigger(
    ReissueReason.AuthorityGone,
    `authority ${id}, which signed the certificate, is no longer published (revoked or expired); ${successor}`,
  );
};

export const authorityTainted: ReissuePolicy = (input) => {
  const leaf = readLeaf(input);
  if (leaf.trigger !== undefined) return leaf.trigger;
  const id = issuingAuthority(input, leaf.value);
  if (
    id === undefined ||
    !(input.taintedAuthorityIds ?? []).some((tainted) => tainted.toLowerCase() === id)
  ) {
    return undefined;
  }
  return trigger(
    ReissueReason.AuthorityTainted,
    `authority ${id}, which signed the certificate, is tainted; the active authority ${input.activeAuthorityIds.x509} signs anew`,
  );
};
