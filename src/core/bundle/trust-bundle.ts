import { createHash, X509Certificate } from 'node:crypto';
import { byNotBeforeThenId, withoutExpired } from '../authorities/lifecycle.ts';
import type {
  Authority,
  AuthorityPolicy,
  Journal,
  JwtAuthority,
  LifecycleState,
  RevokedAuthority,
  X509Authority,
} from '../authorities/model.ts';

/**
 * The published trust bundle of a trust domain, built from its journal. Pure: the clock is injected
 * and equal content gives byte-equal files and an equal hash, whatever the order of the journal.
 */

/** What a ConfigMap can hold. */
export const CONFIGMAP_LIMIT_BYTES = 1_048_576;

/** SPIRE's default refresh hint. */
const MAX_REFRESH_HINT_SECONDS = 300;

/** A root of the upstream CA. When any are given they are the published X.509 roots. */
export interface UpstreamRoot {
  id: string;
  /** PEM. */
  certificate: string;
  /** ISO 8601; read from the certificate when absent. */
  notBefore?: string;
  /** ISO 8601. */
  notAfter: string;
}

/** A public JWK: kty and its public members only. */
export interface PublicJwk {
  readonly [member: string]: string;
  readonly kty: string;
}

/** A key of a standard JWKS. */
export interface JwksKey extends PublicJwk {
  readonly kid: string;
  readonly alg: string;
  readonly use: 'sig';
}

export interface Jwks {
  readonly keys: readonly JwksKey[];
}

export interface PublishedAuthority {
  type: RevokedAuthority['type'];
  id: string;
  notBefore: string;
  notAfter: string;
}

/** A type alias, not an interface, so it is assignable to Record<string, string>. */
export type TrustBundleFiles = {
  /** The X.509 roots, PEM, one certificate each. */
  'bundle.pem': string;
  /** The SPIFFE bundle: a JWKS with x509-svid and jwt-svid keys, sequence and refresh hint. */
  'bundle.spiffe.json': string;
  /** The JWT keys as a standard JWKS. */
  'jwks.json': string;
};

export interface TrustBundle {
  files: TrustBundleFiles;
  /** The content of jwks.json. */
  jwks: Jwks;
  /** What the bundle publishes, X.509 roots first, each part in bundle order. */
  published: PublishedAuthority[];
  /** The spiffe_sequence in bundle.spiffe.json: what sequenceFor(journal, contentHash) records. */
  sequence: number;
  /** sha256 hex over the content without the sequence. */
  contentHash: string;
  /** UTF-8 size of all files together. */
  byteLength: number;
}

export interface TrustBundleInput {
  journal: Journal;
  now: Date;
  /** When given, they replace the upstream-signed X.509 authorities as the published roots. */
  upstreamRoots?: readonly UpstreamRoot[];
  refreshHintSeconds: number;
}

const PUBLISHED_STATES: ReadonlySet<LifecycleState> = new Set(['Prepared', 'Active', 'Old', 'Tainted']);

/** The public members of each key type; nothing else is ever copied into a published key. */
const PUBLIC_MEMBERS: Readonly<Record<string, readonly string[] | undefined>> = {
  EC: ['crv', 'x', 'y'],
  RSA: ['n', 'e'],
  OKP: ['crv', 'x'],
};

/** A JWK reduced to its public members; throws on an unknown key type or a missing member. */
export const publicJwk = (jwk: object): PublicJwk => {
  const fields: Map<string, unknown> = new Map(Object.entries(jwk));
  const kty = fields.get('kty');
  const members =
    typeof kty === 'string' && Object.hasOwn(PUBLIC_MEMBERS, kty) ? PUBLIC_MEMBERS[kty] : undefined;
  if (typeof kty !== 'string' || members === undefined)
    throw new Error(`unsupported JWK key type ${String(kty)}`);
  const out: Record<string, string> = { kty };
  for (const m of members) {
    const v = fields.get(m);
    if (typeof v !== 'string' || v === '') throw new Error(`${kty} JWK lacks its public member ${m}`);
    out[m] = v;
  }
  return { ...out, kty };
};

const sortKeys = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, sortKeys(v)]),
  );
};

/** Deterministic JSON text: members sorted at every level, two-space indent, final newline. */
export const canonicalJson = (value: unknown): string => `${JSON.stringify(sortKeys(value), null, 2)}\n`;

const toPem = (der: Buffer): string => {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
};

interface Root {
  type: 'X509' | 'UpstreamX509';
  id: string;
  notBefore: string;
  notAfter: string;
  der: Buffer;
  jwk: PublicJwk;
}

const parseRoot = (
  type: Root['type'],
  id: string,
  pem: string,
  notBefore: string | undefined,
  notAfter: string,
) => {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (err) {
    throw new Error(`${type} authority ${id}: the certificate does not parse`, { cause: err });
  }
  return {
    type,
    id,
    notBefore: notBefore ?? cert.validFromDate.toISOString(),
    notAfter,
    der: cert.raw,
    jwk: publicJwk(cert.publicKey.export({ format: 'jwk' })),
  } satisfies Root;
};

const idsRevoked = (journal: Journal, type: RevokedAuthority['type']): ReadonlySet<string> =>
  new Set(journal.revoked.filter((r) => r.type === type).map((r) => r.id));

/** Own authorities of one type that are published at now. */
const publishedOwn = <A extends Authority>(
  journal: Journal,
  type: A['type'],
  is: (a: Authority) => a is A,
  now: Date,
): A[] => {
  const revoked = idsRevoked(journal, type);
  const candidates = journal.authorities
    .filter(is)
    .filter((a) => PUBLISHED_STATES.has(a.state) && !revoked.has(a.id));
  return withoutExpired(candidates, now).sort(byNotBeforeThenId);
};

const isX509 = (a: Authority): a is X509Authority => a.type === 'X509';
const isJwt = (a: Authority): a is JwtAuthority => a.type === 'JWT';

export const buildTrustBundle = (input: TrustBundleInput): TrustBundle => {
  const { journal, now, upstreamRoots, refreshHintSeconds } = input;
  if (!Number.isInteger(refreshHintSeconds) || refreshHintSeconds < 1) {
    throw new RangeError(`refreshHintSeconds must be a positive integer, got ${refreshHintSeconds}`);
  }

  // Own self-signed authorities are roots even beside an upstream: they stay published until they
  // expire, so what they signed before the upstream was configured stays verifiable.
  const ownX509 = publishedOwn(journal, 'X509', isX509, now).filter(
    (a) => upstreamRoots === undefined || a.upstream === undefined,
  );
  const revokedUpstream = idsRevoked(journal, 'UpstreamX509');
  const upstream = withoutExpired(
    (upstreamRoots ?? []).filter((r) => !revokedUpstream.has(r.id)),
    now,
  );
  const seen = new Set<string>();
  const roots = [
    ...ownX509.map((a) => parseRoot('X509', a.id, a.certificate, a.notBefore, a.notAfter)),
    ...upstream.map((r) => parseRoot('UpstreamX509', r.id, r.certificate, r.notBefore, r.notAfter)),
  ]
    .sort((a, b) => byNotBeforeThenId(a, b) || Buffer.compare(a.der, b.der))
    .filter((r) => {
      const key = r.der.toString('base64');
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  const jwtKeys = publishedOwn(journal, 'JWT', isJwt, now);

  const spiffeKeys = [
    ...roots.map((r) => ({ ...r.jwk, use: 'x509-svid', x5c: [r.der.toString('base64')] })),
    ...jwtKeys.map((a) => ({ ...publicJwk(a.publicKey), use: 'jwt-svid', kid: a.id })),
  ];
  const jwks: Jwks = {
    keys: jwtKeys.map((a) => ({ ...publicJwk(a.publicKey), kid: a.id, alg: a.algorithm, use: 'sig' })),
  };

  const pem = roots.map((r) => toPem(r.der)).join('');
  const jwksText = canonicalJson(jwks);
  const contentHash = createHash('sha256')
    .update(
      canonicalJson({
        'bundle.pem': pem,
        'bundle.spiffe.json': { keys: spiffeKeys, spiffe_refresh_hint: refreshHintSeconds },
        'jwks.json': jwksText,
      }),
    )
    .digest('hex');
  const sequence = sequenceFor(journal, contentHash).bundle.sequence;
  const files: TrustBundleFiles = {
    'bundle.pem': pem,
    'bundle.spiffe.json': canonicalJson({
      keys: spiffeKeys,
      spiffe_refresh_hint: refreshHintSeconds,
      spiffe_sequence: sequence,
    }),
    'jwks.json': jwksText,
  };
  const byteLength = Object.values(files).reduce((n, text) => n + Buffer.byteLength(text, 'utf8'), 0);
  const published: PublishedAuthority[] = [...roots, ...jwtKeys].map(({ type, id, notBefore, notAfter }) => ({
    type,
    id,
    notBefore,
    notAfter,
  }));
  return { files, jwks, published, sequence, contentHash, byteLength };
};

/**
 * The journal recording a bundle of this content hash: the sequence moves on with every content
 * change and never otherwise, so the first publication is sequence 1. Unchanged journal otherwise.
 */
export const sequenceFor = (journal: Journal, contentHash: string): Journal =>
  contentHash === journal.bundle.contentHash
    ? journal
    : { ...journal, bundle: { sequence: journal.bundle.sequence + 1, contentHash } };

/** min(300 s, a tenth of the shortest authority TTL), at least 1 s, whole seconds. */
export const refreshHintSeconds = (policy: AuthorityPolicy): number =>
  Math.max(
    1,
    Math.min(MAX_REFRESH_HINT_SECONDS, Math.floor(Math.min(policy.x509.ttlMs, policy.jwt.ttlMs) / 10_000)),
  );
