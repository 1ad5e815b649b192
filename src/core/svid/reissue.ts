import { createHash, X509Certificate as NodeCertificate } from 'node:crypto';
import type { X509Certificate as PeculiarCertificate } from '@peculiar/x509';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { X509KeyType } from '../../api/trustdomain.ts';
import { keyFitsX509KeyType, privateKeyMatches, readPrivateKey } from '../authorities/keys.ts';
import { decodeCertificatesPem, decodePem } from '../authorities/pem.ts';
import { x509 } from '../authorities/x509.ts';

/**
 * When the SVID Secret of a RegistrationEntry must be issued again: a list of small pure policies in
 * the manner of cert-manager's re-issuance triggers. Each one is safe on its own: when what it inspects
 * cannot be read it reports that (SecretMissing, DataMissing, CertificateUnreadable…) instead of
 * assuming an earlier policy caught it, so no subset or order of the list ever keeps a broken Secret.
 */

import {
  ANNOTATION_SVID_AUTHORITY_ID,
  ANNOTATION_SVID_NOT_AFTER,
  ANNOTATION_SVID_RENEW_AT,
  ANNOTATION_SVID_SERIAL,
  ANNOTATION_SVID_SPEC_HASH,
  ANNOTATION_SVID_SPIFFE_ID,
  SVID_BUNDLE_KEY,
  SVID_CERT_KEY,
  SVID_PRIVATE_KEY_KEY,
  TLS_CA_KEY,
  TLS_CERT_KEY,
  TLS_PRIVATE_KEY_KEY,
  X509_DATA_KEYS,
} from '../../api/well-known.ts';

/** Stable strings users and alerts match on, used as event and condition reasons. */
export const ReissueReason = {
  SecretMissing: 'SecretMissing',
  DataMissing: 'DataMissing',
  CertificateUnreadable: 'CertificateUnreadable',
  KeyMismatch: 'KeyMismatch',
  IdentityMismatch: 'IdentityMismatch',
  DNSNamesMismatch: 'DNSNamesMismatch',
  SpecChanged: 'SpecChanged',
  HandEdited: 'HandEdited',
  AuthorityGone: 'AuthorityGone',
  AuthorityTainted: 'AuthorityTainted',
  Expired: 'Expired',
  RenewalDue: 'RenewalDue',
  JwtMissing: 'JwtMissing',
  JwtUnreadable: 'JwtUnreadable',
  JwtAudienceMismatch: 'JwtAudienceMismatch',
  JwtSubjectMismatch: 'JwtSubjectMismatch',
  JwtAuthorityGone: 'JwtAuthorityGone',
  JwtRenewalDue: 'JwtRenewalDue',
} as const;
export type ReissueReason = (typeof ReissueReason)[keyof typeof ReissueReason];

export interface DesiredJwtSvid {
  /** The Secret data key of the token. */
  key: string;
  audiences: readonly string[];
  ttlMs: number;
}

/** The identity a RegistrationEntry asks for, with the TrustDomain defaults filled in. */
export interface DesiredIdentity {
  /** spiffe://<trust domain><path> */
  spiffeId: string;
  dnsNames: readonly string[];
  keyType: X509KeyType;
  x509TtlMs: number;
  jwtSvids: readonly DesiredJwtSvid[];
}

export type SecretValue = Buffer | string;

export interface ObservedSecret {
  /** Decoded data: bytes or UTF-8 text. */
  data: Readonly<Record<string, SecretValue | undefined>>;
  annotations: Readonly<Record<string, string | undefined>>;
  /**
   * Not read by any policy: whether Trustline may write a Secret at all is the controller's conflict
   * decision, made before these policies run.
   */
  ownedByEntry: boolean;
}

export interface IssuanceInput {
  now: Date;
  spec: DesiredIdentity;
  secret?: ObservedSecret | undefined;
  /** The authorities that sign now; named in messages so a reader sees what replaces what. */
  activeAuthorityIds: { x509: string; jwt: string };
  /**
   * Ids of the journal's authorities in a published state (Prepared, Active, Old, Tainted) that have
   * not expired: X.509 subject key identifiers and JWT `kid`s. An SVID whose signer is not among them
   * no longer verifies, or soon will not.
   */
  publishableAuthorityIds: { x509: readonly string[]; jwt: readonly string[] };
  /** Ids of Tainted authorities, of either type: still published, but what they signed is re-signed. */
  taintedAuthorityIds?: readonly string[] | undefined;
  /** Of a lifetime, how much passes before renewal; 0.5 when unset. */
  renewalFraction?: number | undefined;
}

export interface ReissueTrigger {
  reason: ReissueReason;
  message: string;
  /** For JWT-SVID reasons: the data key of the token to sign again. */
  jwtKey?: string;
}

export type ReissuePolicy = (input: IssuanceInput) => ReissueTrigger | undefined;
export type JwtReissuePolicy = (input: IssuanceInput, jwt: DesiredJwtSvid) => ReissueTrigger | undefined;

export const DEFAULT_RENEWAL_FRACTION = 0.5;
export const DEFAULT_RENEWAL_JITTER = 0.1;
/** Jitter never pulls renewal earlier than this fraction of the lifetime. */
const EARLIEST_RENEWAL_FRACTION = 0.3;
/** Renewal is always due at least this long before expiry, so a fresh SVID is in place in time. */
const LATEST_RENEWAL_MARGIN_MS = 1000;

export interface RenewAtParams {
  notBefore: Date;
  notAfter: Date;
  fraction?: number;
  jitter?: number;
  /** In [0, 1); injected so tests and replays are deterministic. */
  random: () => number;
}

/**
 * When to renew: `fraction` of the lifetime, pulled earlier by up to `jitter` of the lifetime so that
 * SVIDs issued together do not all renew together. Never earlier than 30% of the lifetime and never
 * later than one second before expiry; when the two collide (lifetimes under 1.5 s) the later bound
 * gives way, as renewing early is harmless and renewing late is not.
 */
export function renewAt({
  notBefore,
  notAfter,
  fraction = DEFAULT_RENEWAL_FRACTION,
  jitter = DEFAULT_RENEWAL_JITTER,
  random,
}: RenewAtParams): Date {
  const start = notBefore.getTime();
  const end = notAfter.getTime();
  const lifetime = end - start;
  const draw = Math.min(Math.max(random(), 0), 1);
  const candidate = start + fraction * lifetime - jitter * lifetime * draw;
  const earliest = start + EARLIEST_RENEWAL_FRACTION * lifetime;
  const latest = end - LATEST_RENEWAL_MARGIN_MS;
  return new Date(Math.floor(Math.min(Math.max(candidate, earliest), latest)));
}

/**
 * sha256 hex of the canonical JSON of what the X.509-SVID is made from. DNS names are a set, so they
 * are sorted and deduplicated. JWT-SVIDs are left out: each token is checked on its own, and an
 * audience change must not re-sign the X.509-SVID.
 */
export function specHash(identity: DesiredIdentity): string {
  const canonical = JSON.stringify([
    ['spiffeId', identity.spiffeId],
    ['dnsNames', [...new Set(identity.dnsNames)].sort()],
    ['keyType', identity.keyType],
    ['x509TtlMs', identity.x509TtlMs],
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * Serials as one spelling: lower-case hex of the value's octets without leading zero octets, as the
 * signer reports them (Node writes upper case, and some tools drop or add a leading zero).
 */
export function normalizeSerial(serial: string): string {
  const digits = serial.toLowerCase().replace(/^0+/, '');
  return digits.length % 2 === 0 ? digits : `0${digits}`;
}

// --- reading the Secret -----------------------------------------------------------------------------

export type Read<T> = { value: T; trigger?: undefined } | { trigger: ReissueTrigger };

const trigger = (reason: ReissueReason, message: string, jwtKey?: string): ReissueTrigger =>
  jwtKey === undefined ? { reason, message } : { reason, message, jwtKey };

/** A data value as text; an empty value counts as absent, since nothing can use it. */
function textOf(value: SecretValue | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = typeof value === 'string' ? value : value.toString('utf8');
  return text === '' ? undefined : text;
}

function readSecret(input: IssuanceInput): Read<ObservedSecret> {
  return input.secret === undefined
    ? { trigger: trigger(ReissueReason.SecretMissing, 'the Secret does not exist') }
    : { value: input.secret };
}

/** The text of `key`, or DataMissing. */
function readText(input: IssuanceInput, key: string): Read<string> {
  const secret = readSecret(input);
  if (secret.trigger !== undefined) return secret;
  const text = textOf(secret.value.data[key]);
  return text === undefined
    ? { trigger: trigger(ReissueReason.DataMissing, `the Secret lacks ${key}`) }
    : { value: text };
}

export interface Leaf {
  node: NodeCertificate;
  parsed: PeculiarCertificate;
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
    const node = new NodeCertificate(leafDer);
    const parsed = new x509.X509Certificate(leafDer);
    const names = parsed.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
    return {
      value: {
        node,
        parsed,
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

const sameSet = (a: readonly string[], b: readonly string[]): boolean => {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((item) => right.has(item));
};

const describeSet = (items: readonly string[]): string =>
  items.length === 0 ? 'none' : [...new Set(items)].sort().join(', ');

const trustDomainOf = (spiffeId: string): string | undefined => /^spiffe:\/\/([^/]+)/.exec(spiffeId)?.[1];

// --- X.509-SVID policies ------------------------------------------------------------------------------

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
    if (privateKeyMatches(readPrivateKey(key.value), leaf.value.node.publicKey)) {
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
  if (keyFitsX509KeyType(leaf.value.node.publicKey, input.spec.keyType)) return undefined;
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
  const certificate = leaf.value.parsed;
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

export const expired: ReissuePolicy = (input) => {
  const leaf = readLeaf(input);
  if (leaf.trigger !== undefined) return leaf.trigger;
  const { notAfter } = leaf.value.parsed;
  return input.now.getTime() >= notAfter.getTime()
    ? trigger(ReissueReason.Expired, `the certificate expired at ${notAfter.toISOString()}`)
    : undefined;
};

/**
 * The recorded renewal time when it lies within the bounds `renewAt` keeps; otherwise, as when it is
 * absent, `fraction` of the certificate's lifetime without jitter, so a bad annotation never delays
 * renewal past where it belongs.
 */
function effectiveRenewAt(input: IssuanceInput, certificate: PeculiarCertificate): Date {
  const { notBefore, notAfter } = certificate;
  const fraction = input.renewalFraction ?? DEFAULT_RENEWAL_FRACTION;
  const recorded = Date.parse(input.secret?.annotations[ANNOTATION_SVID_RENEW_AT] ?? '');
  const earliest = renewAt({ notBefore, notAfter, fraction: 0, jitter: 0, random: () => 0 });
  const latest = renewAt({ notBefore, notAfter, fraction: 1, jitter: 0, random: () => 0 });
  if (!Number.isNaN(recorded) && recorded >= earliest.getTime() && recorded <= latest.getTime()) {
    return new Date(recorded);
  }
  return renewAt({ notBefore, notAfter, fraction, jitter: 0, random: () => 0 });
}

export const renewalDue: ReissuePolicy = (input) => {
  const leaf = readLeaf(input);
  if (leaf.trigger !== undefined) return leaf.trigger;
  const at = effectiveRenewAt(input, leaf.value.parsed);
  if (input.now.getTime() < at.getTime()) return undefined;
  return trigger(
    ReissueReason.RenewalDue,
    `renewal was due at ${at.toISOString()}; the certificate expires at ${leaf.value.parsed.notAfter.toISOString()}`,
  );
};

// --- JWT-SVID policies, one token at a time ------------------------------------------------------------

interface Token {
  kid: string | undefined;
  sub: string;
  aud: string[];
  iat: number;
  exp: number;
}

function readToken(input: IssuanceInput, jwt: DesiredJwtSvid): Read<Token> {
  const secret = readSecret(input);
  if (secret.trigger !== undefined) return secret;
  const text = textOf(secret.value.data[jwt.key])?.trim();
  if (text === undefined || text === '') {
    return { trigger: trigger(ReissueReason.JwtMissing, `the Secret lacks ${jwt.key}`, jwt.key) };
  }
  const unreadable = (why: string): Read<Token> => ({
    trigger: trigger(ReissueReason.JwtUnreadable, `${jwt.key} ${why}`, jwt.key),
  });
  let header: ReturnType<typeof decodeProtectedHeader>;
  let payload: ReturnType<typeof decodeJwt>;
  try {
    header = decodeProtectedHeader(text);
    payload = decodeJwt(text);
  } catch {
    return unreadable('is not a compact JWT');
  }
  const { sub, aud, iat, exp } = payload;
  if (typeof sub !== 'string') return unreadable('has no sub claim');
  const audiences = typeof aud === 'string' ? [aud] : aud;
  if (!Array.isArray(audiences) || !audiences.every((a) => typeof a === 'string')) {
    return unreadable('has no aud claim');
  }
  if (typeof iat !== 'number' || typeof exp !== 'number' || !(exp > iat)) {
    return unreadable('has no iat and exp claims that span a lifetime');
  }
  return { value: { kid: header.kid, sub, aud: audiences, iat, exp } };
}

export const jwtMissing: JwtReissuePolicy = (input, jwt) => {
  const token = readToken(input, jwt);
  return token.trigger?.reason === ReissueReason.JwtMissing ||
    token.trigger?.reason === ReissueReason.SecretMissing
    ? token.trigger
    : undefined;
};

export const jwtUnreadable: JwtReissuePolicy = (input, jwt) => readToken(input, jwt).trigger;

export const jwtAudienceMismatch: JwtReissuePolicy = (input, jwt) => {
  const token = readToken(input, jwt);
  if (token.trigger !== undefined) return token.trigger;
  if (sameSet(token.value.aud, jwt.audiences)) return undefined;
  return trigger(
    ReissueReason.JwtAudienceMismatch,
    `${jwt.key} is for audiences ${describeSet(token.value.aud)}, not ${describeSet(jwt.audiences)}`,
    jwt.key,
  );
};

export const jwtSubjectMismatch: JwtReissuePolicy = (input, jwt) => {
  const token = readToken(input, jwt);
  if (token.trigger !== undefined) return token.trigger;
  if (token.value.sub === input.spec.spiffeId) return undefined;
  return trigger(
    ReissueReason.JwtSubjectMismatch,
    `${jwt.key} is for subject ${token.value.sub}, not ${input.spec.spiffeId}`,
    jwt.key,
  );
};

export const jwtAuthorityGone: JwtReissuePolicy = (input, jwt) => {
  const token = readToken(input, jwt);
  if (token.trigger !== undefined) return token.trigger;
  const { kid } = token.value;
  const successor = `the active key ${input.activeAuthorityIds.jwt} signs anew`;
  const gone = (why: string) =>
    trigger(ReissueReason.JwtAuthorityGone, `${jwt.key} ${why}; ${successor}`, jwt.key);
  if (kid === undefined) return gone('names no signing key (kid)');
  if (!input.publishableAuthorityIds.jwt.includes(kid)) {
    return gone(`was signed by key ${kid}, which is no longer published (revoked or expired)`);
  }
  if ((input.taintedAuthorityIds ?? []).includes(kid))
    return gone(`was signed by key ${kid}, which is tainted`);
  return undefined;
};

export const jwtRenewalDue: JwtReissuePolicy = (input, jwt) => {
  const token = readToken(input, jwt);
  if (token.trigger !== undefined) return token.trigger;
  const { iat, exp } = token.value;
  const notBefore = new Date(iat * 1000);
  const notAfter = new Date(exp * 1000);
  const fraction = input.renewalFraction ?? DEFAULT_RENEWAL_FRACTION;
  const at = renewAt({ notBefore, notAfter, fraction, jitter: 0, random: () => 0 });
  if (input.now.getTime() < at.getTime()) return undefined;
  const state =
    input.now.getTime() >= notAfter.getTime()
      ? `expired at ${notAfter.toISOString()}`
      : `expires at ${notAfter.toISOString()}`;
  return trigger(
    ReissueReason.JwtRenewalDue,
    `${jwt.key} was due for renewal at ${at.toISOString()} and ${state}`,
    jwt.key,
  );
};

/** A per-token policy as a whole-Secret one: the first token, in spec order, that it triggers on. */
const forEachJwtSvid =
  (policy: JwtReissuePolicy): ReissuePolicy =>
  (input) => {
    for (const jwt of input.spec.jwtSvids) {
      const found = policy(input, jwt);
      if (found !== undefined) return found;
    }
    return undefined;
  };

/** In order of how basic the problem is; `reissueReason` reports the first. */
export const X509_REISSUE_POLICIES: readonly ReissuePolicy[] = [
  secretMissing,
  dataMissing,
  certificateUnreadable,
  keyMismatch,
  identityMismatch,
  dnsNamesMismatch,
  specChanged,
  handEdited,
  authorityGone,
  authorityTainted,
  expired,
  renewalDue,
];

export const JWT_REISSUE_POLICIES: readonly JwtReissuePolicy[] = [
  jwtMissing,
  jwtUnreadable,
  jwtAudienceMismatch,
  jwtSubjectMismatch,
  jwtAuthorityGone,
  jwtRenewalDue,
];

export const REISSUE_POLICIES: readonly ReissuePolicy[] = [
  ...X509_REISSUE_POLICIES,
  ...JWT_REISSUE_POLICIES.map(forEachJwtSvid),
];

const firstOf = (policies: readonly ReissuePolicy[], input: IssuanceInput): ReissueTrigger | undefined => {
  for (const policy of policies) {
    const found = policy(input);
    if (found !== undefined) return found;
  }
  return undefined;
};

/** The first reason, in list order, to issue anything in the Secret again; undefined when it is sound. */
export const reissueReason = (input: IssuanceInput): ReissueTrigger | undefined =>
  firstOf(REISSUE_POLICIES, input);

/**
 * Every reason, in list order, once per reason and token: several policies report the same missing
 * Secret or unreadable certificate, which is one problem.
 */
export function reissueReasons(input: IssuanceInput): ReissueTrigger[] {
  const seen = new Set<string>();
  const found: ReissueTrigger[] = [];
  for (const policy of REISSUE_POLICIES) {
    const result = policy(input);
    if (result === undefined) continue;
    const key = `${result.reason}\u0000${result.jwtKey ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    found.push(result);
  }
  return found;
}

/** Why the X.509-SVID must be signed again, or undefined when it may stay. */
export const x509ReissueReason = (input: IssuanceInput): ReissueTrigger | undefined =>
  firstOf(X509_REISSUE_POLICIES, input);

/** The JWT-SVIDs to sign again, by data key, each with the first reason found for it. */
export function jwtSvidsToReissue(input: IssuanceInput): Map<string, ReissueTrigger> {
  const due = new Map<string, ReissueTrigger>();
  for (const jwt of input.spec.jwtSvids) {
    for (const policy of JWT_REISSUE_POLICIES) {
      const found = policy(input, jwt);
      if (found !== undefined) {
        due.set(jwt.key, found);
        break;
      }
    }
  }
  return due;
}

/**
 * Whether the bundle copies (ca.crt, svid_bundle.pem) differ from the current trust bundle: then the
 * Secret is rewritten with the new bundle, and nothing is signed again. Compared byte for byte, since
 * the writer puts `bundlePem` there verbatim.
 */
export function caBundleStale(
  secretData: Readonly<Record<string, SecretValue | undefined>>,
  bundlePem: string,
): boolean {
  return [TLS_CA_KEY, SVID_BUNDLE_KEY].some((key) => textOf(secretData[key]) !== bundlePem);
}

/**
 * Data keys neither the X.509-SVID nor a JWT-SVID of the spec uses, such as the token of a JWT-SVID
 * removed from the spec: drift to rewrite away, with nothing signed again.
 */
export function extraDataKeys(
  secretData: Readonly<Record<string, SecretValue | undefined>>,
  spec: Pick<DesiredIdentity, 'jwtSvids'>,
): string[] {
  const wanted = new Set<string>([...X509_DATA_KEYS, ...spec.jwtSvids.map((jwt) => jwt.key)]);
  return Object.keys(secretData).filter((key) => !wanted.has(key));
}
