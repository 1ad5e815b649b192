import {
  ANNOTATION_SVID_RENEW_AT,
  TLS_CERT_KEY,
  TLS_PRIVATE_KEY_KEY,
  X509_DATA_KEYS,
} from '../../api/well-known.ts';
import { privateKeyMatches, readPrivateKey } from '../authorities/keys.ts';
import type { IssuanceInput, ObservedSecret, ReissuePolicy, ReissueTrigger } from './identity.ts';
import { readLeaf, readSecret, readText, textOf, trigger } from './observed-secret.ts';
import { ReissueReason } from './reissue-reason.ts';
import { issuedLifetime, renewalDueAt } from './renewal.ts';
import { describeSet, sameSet } from './sets.ts';

/**
 * The X.509-SVID's re-issue policies on what the Secret and its certificate hold, each safe on its own
 * whatever the others found. The policies on what the Secret records of its issuance are in
 * x509-record-policies.ts.
 */

const trustDomainOf = (spiffeId: string): string | undefined => /^spiffe:\/\/([^/]+)/.exec(spiffeId)?.[1];

export const secretMissing: ReissuePolicy = (input) => readSecret(input).trigger;

export const dataMissing: ReissuePolicy = (input) => {
  const secret = readSecret(input);
  if (secret.trigger !== undefined) return secret.trigger;
  const missing = X509_DATA_KEYS.filter((key) => textOf(secret.value.data[key]) === undefined);
  return missing.length === 0
    ? undefined
    : trigger(ReissueReason.DataMissing, `the Secret lacks ${missing.join(', ')}`);
};

export const certificateUnreadable: ReissuePolicy = (input) => readLeaf(input).trigger;

/** Whether each observed Secret's key fits its leaf, checked once like the leaf is parsed once. */
const keyChecks = new WeakMap<ObservedSecret, { found: ReissueTrigger | undefined }>();

export const keyMismatch: ReissuePolicy = (input) => {
  const secret = input.secret;
  const known = secret && keyChecks.get(secret);
  if (known) return known.found;
  const found = checkKey(input);
  if (secret) keyChecks.set(secret, { found });
  return found;
};

function checkKey(input: IssuanceInput): ReissueTrigger | undefined {
  const leaf = readLeaf(input);
  if (leaf.trigger !== undefined) return leaf.trigger;
  const key = readText(input, TLS_PRIVATE_KEY_KEY);
  if (key.trigger !== undefined) return key.trigger;
  try {
    if (privateKeyMatches(readPrivateKey(key.value), leaf.value.publicKey)) {
      return undefined;
    }
  } catch {
    return trigger(ReissueReason.KeyMismatch, `${TLS_PRIVATE_KEY_KEY} holds no readable private key`);
  }
  return trigger(
    ReissueReason.KeyMismatch,
    `the private key in ${TLS_PRIVATE_KEY_KEY} is not the one of the certificate in ${TLS_CERT_KEY}`,
  );
}

export const identityMismatch: ReissuePolicy = (input) => {
  const leaf = readLeaf(input);
  if (leaf.trigger !== undefined) return leaf.trigger;
  const { uris } = leaf.value;
  const want = input.spec.spiffeId;
  const [uri] = uris;
  if (uri === undefined) {
    return trigger(ReissueReason.IdentityMismatch, `the certificate has no URI SAN; ${want} is wanted`);
  }
  if (uris.length > 1) {
    return trigger(
      ReissueReason.IdentityMismatch,
      `the certificate has ${uris.length} URI SANs (${uris.join(', ')}); an X.509-SVID has exactly one, ${want}`,
    );
  }
  if (uri === want) return undefined;
  const haveDomain = trustDomainOf(uri);
  const wantDomain = trustDomainOf(want);
  return trigger(
    ReissueReason.IdentityMismatch,
    haveDomain !== wantDomain
      ? `the certificate's SPIFFE ID ${uri} is not in trust domain ${wantDomain ?? '(none)'}; ${want} is wanted`
      : `the certificate's SPIFFE ID is ${uri}, not ${want}`,
  );
};

export const dnsNamesMismatch: ReissuePolicy = (input) => {
  const leaf = readLeaf(input);
  if (leaf.trigger !== undefined) return leaf.trigger;
  if (sameSet(leaf.value.dnsNames, input.spec.dnsNames)) return undefined;
  return trigger(
    ReissueReason.DNSNamesMismatch,
    `the certificate's DNS names are ${describeSet(leaf.value.dnsNames)}, not ${describeSet(input.spec.dnsNames)}`,
  );
};

export const expired: ReissuePolicy = (input) => {
  const leaf = readLeaf(input);
  if (leaf.trigger !== undefined) return leaf.trigger;
  const { notAfter } = leaf.value;
  return input.now.getTime() >= notAfter.getTime()
    ? trigger(ReissueReason.Expired, `the certificate expired at ${notAfter.toISOString()}`)
    : undefined;
};

/** When the observed X.509-SVID is due for renewal; undefined when its certificate cannot be read. */
export function x509RenewalDueAt(input: IssuanceInput): Date | undefined {
  const leaf = readLeaf(input);
  if (leaf.trigger !== undefined) return undefined;
  const { notBefore, notAfter } = leaf.value;
  const recorded = input.secret?.annotations[ANNOTATION_SVID_RENEW_AT];
  return renewalDueAt(issuedLifetime({ notBefore, notAfter }), input.renewalFraction, recorded);
}

export const renewalDue: ReissuePolicy = (input) => {
  const leaf = readLeaf(input);
  if (leaf.trigger !== undefined) return leaf.trigger;
  const at = x509RenewalDueAt(input) ?? input.now;
  if (input.now.getTime() < at.getTime()) return undefined;
  return trigger(
    ReissueReason.RenewalDue,
    `renewal was due at ${at.toISOString()}; the certificate expires at ${leaf.value.notAfter.toISOString()}`,
  );
};
