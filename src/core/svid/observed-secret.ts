import { type KeyObject, X509Certificate as NodeCertificate } from 'node:crypto';
import { TLS_CERT_KEY } from '../../api/well-known.ts';
import { decodeCertificatesPem } from '../authorities/pem.ts';
import { x509 } from '../authorities/x509.ts';
import type { IssuanceInput, ObservedSecret, ReissueTrigger, SecretValue } from './identity.ts';
import { ReissueReason } from './reissue-reason.ts';

/**
 * Reading an observed SVID Secret for the re-issue policies: each read either yields its value or the
 * trigger that says why it cannot, so every policy stays safe on its own.
 */

export type Read<T> = { value: T; trigger?: undefined } | { trigger: ReissueTrigger };

export const trigger = (reason: ReissueReason, message: string, jwtKey?: string): ReissueTrigger =>
  jwtKey === undefined ? { reason, message } : { reason, message, jwtKey };

/** A data value as text; an empty value counts as absent, since nothing can use it. */
export function textOf(value: SecretValue | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = typeof value === 'string' ? value : value.toString('utf8');
  return text === '' ? undefined : text;
}

export function readSecret(input: IssuanceInput): Read<ObservedSecret> {
  return input.secret === undefined
    ? { trigger: trigger(ReissueReason.SecretMissing, 'the Secret does not exist') }
    : { value: input.secret };
}

/** The text of `key`, or DataMissing. */
export function readText(input: IssuanceInput, key: string): Read<string> {
  const secret = readSecret(input);
  if (secret.trigger !== undefined) return secret;
  const text = textOf(secret.value.data[key]);
  return text === undefined
    ? { trigger: trigger(ReissueReason.DataMissing, `the Secret lacks ${key}`) }
    : { value: text };
}

/**
 * What the policies read of a leaf certificate. Only these facts are kept, not the parsed certificates:
 * those cost about 23 KB each (mostly outside the JS heap), held for every cached SVID Secret.
 */
export interface Leaf {
  publicKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  serialNumber: string;
  uris: string[];
  dnsNames: string[];
  /** The authority key identifier, lower-case hex, when the certificate has one. */
  authorityKeyId: string | undefined;
}

/**
 * The leaf of each observed Secret, parsed once: ten policies read it in one reconcile, and each still
 * asks for it itself, so it stays safe on its own. Observed Secrets are read-only snapshots, so a
 * result never goes stale; it goes when the snapshot does.
 */
const leaves = new WeakMap<ObservedSecret, Read<Leaf>>();

export function readLeaf(input: IssuanceInput): Read<Leaf> {
  const secret = input.secret;
  const known = secret && leaves.get(secret);
  if (known) return known;
  const read = parseLeaf(input);
  if (secret) leaves.set(secret, read);
  return read;
}

function parseLeaf(input: IssuanceInput): Read<Leaf> {
  const text = readText(input, TLS_CERT_KEY);
  if (text.trigger !== undefined) return text;
  const unreadable = (why: string): Read<Leaf> => ({
    trigger: trigger(ReissueReason.CertificateUnreadable, `${TLS_CERT_KEY} ${why}`),
  });
  let chain: Buffer[];
  try {
    chain = decodeCertificatesPem(text.value);
  } catch {
    return unreadable('is not PEM certificates');
  }
  const [leafDer] = chain;
  if (leafDer === undefined) return unreadable('holds no certificate');
  try {
    // The chain is not inspected further, but a pod must be able to read every certificate of it.
    for (const der of chain.slice(1)) new NodeCertificate(der);
    const { publicKey } = new NodeCertificate(leafDer);
    const parsed = new x509.X509Certificate(leafDer);
    const names = parsed.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
    return {
      value: {
        publicKey,
        notBefore: parsed.notBefore,
        notAfter: parsed.notAfter,
        serialNumber: parsed.serialNumber,
        uris: names.filter((name) => name.type === 'url').map((name) => name.value),
        dnsNames: names.filter((name) => name.type === 'dns').map((name) => name.value),
        authorityKeyId: parsed.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId?.toLowerCase(),
      },
    };
  } catch {
    // Node and the ASN.1 parser both refuse what they cannot read; their messages add nothing here.
    return unreadable('holds a certificate that cannot be parsed');
  }
}
