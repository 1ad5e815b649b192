import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  emptyJournal,
  type Journal,
  type JwtAuthority,
  type LifecycleState,
  type X509Authority,
} from '../../src/core/authorities/model.ts';
import { x509 } from '../../src/core/authorities/x509.ts';
import { journalUpstreamRoots } from '../../src/core/bundle/journal-roots.ts';
import {
  buildTrustBundle,
  CONFIGMAP_LIMIT_BYTES,
  canonicalJson,
  publicJwk,
  refreshHintSeconds,
  sequenceFor,
  type TrustBundleInput,
  type UpstreamRoot,
} from '../../src/core/bundle/trust-bundle.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = new Date('2030-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const iso = (ms: number) => at(ms).toISOString();
const NOW = at(30 * HOUR);

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const RSA = {
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
};

/** A real self-signed CA certificate; its id is its subject key identifier. */
const makeCa = async (
  notBefore: number,
  notAfter: number,
  cn: string,
  algorithm: typeof EC | typeof RSA = EC,
) => {
  const keys = await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${cn}`,
    notBefore: at(notBefore),
    notAfter: at(notAfter),
    signingAlgorithm: algorithm,
    keys,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), ski],
  });
  return { id: ski.keyId.toLowerCase(), pem: cert.toString('pem') };
};

const x509Authority = async (
  state: LifecycleState,
  notBefore: number,
  notAfter: number,
  options: { rsa?: boolean; upstream?: string } = {},
): Promise<X509Authority> => {
  const ca = await makeCa(notBefore, notAfter, `ca-${state}`, options.rsa ? RSA : EC);
  return {
    type: 'X509',
    id: ca.id,
    state,
    notBefore: iso(notBefore),
    notAfter: iso(notAfter),
    privateKey: 'unused',
    keyType: options.rsa ? 'RSA-2048' : 'EC-P256',
    certificate: ca.pem,
    ...(options.upstream === undefined
      ? {}
      : { upstream: { signerId: options.upstream, rootId: options.upstream, chain: [] } }),
  };
};

const jwtAuthority = (
  id: string,
  state: LifecycleState,
  notBefore: number,
  notAfter: number,
  rsa = false,
): JwtAuthority => {
  const { publicKey } = rsa
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    type: 'JWT',
    id,
    state,
    notBefore: iso(notBefore),
    notAfter: iso(notAfter),
    privateKey: 'unused',
    algorithm: rsa ? 'RS256' : 'ES256',
    publicKey: { ...publicKey.export({ format: 'jwk' }), kty: rsa ? 'RSA' : 'EC' },
  };
};

const derOf = (pem: string) => new X509Certificate(pem).raw.toString('base64');
const pemBlocks = (text: string) =>
  [...text.matchAll(/-----BEGIN CERTIFICATE-----\n([\s\S]*?)\n-----END CERTIFICATE-----\n/g)].map((m) =>
    (m[1] ?? '').replaceAll('\n', ''),
  );

const bundleKeySchema = z.looseObject({
  kty: z.string(),
  use: z.enum(['x509-svid', 'jwt-svid']),
  kid: z.string().optional(),
  x5c: z.array(z.string()).optional(),
});
const spiffeSchema = z.strictObject({
  keys: z.array(bundleKeySchema),
  spiffe_sequence: z.int(),
  spiffe_refresh_hint: z.int(),
});
const jwksSchema = z.strictObject({
  keys: z.array(z.looseObject({ kty: z.string(), kid: z.string(), alg: z.string(), use: z.literal('sig') })),
});
const parseSpiffe = (text: string) => spiffeSchema.parse(JSON.parse(text));
const parseJwks = (text: string) => jwksSchema.parse(JSON.parse(text));

/** Deterministic shuffles: every rotation and the reverse. */
const orders = <T>(items: readonly T[]): T[][] => [
  ...items.map((_, i) => [...items.slice(i), ...items.slice(0, i)]),
  [...items].reverse(),
];

let x: Record<'expired' | 'active' | 'prepared' | 'old' | 'revoked' | 'revokedById' | 'rsa', X509Authority>;
let jwt: Record<'old' | 'active' | 'revoked' | 'revokedById' | 'expired', JwtAuthority>;
let journal: Journal;
let root: { id: string; pem: string };
let root2: { id: string; pem: string };

beforeAll(async () => {
  x = {
    expired: await x509Authority('Old', 0, 24 * HOUR),
    old: await x509Authority('Old', 6 * HOUR, 31 * HOUR),
    active: await x509Authority('Active', 12 * HOUR, 36 * HOUR),
    prepared: await x509Authority('Prepared', 24 * HOUR, 48 * HOUR),
    revoked: await x509Authority('Revoked', 12 * HOUR, 36 * HOUR),
    revokedById: await x509Authority('Tainted', 12 * HOUR, 36 * HOUR),
    rsa: await x509Authority('Tainted', 13 * HOUR, 37 * HOUR, { rsa: true }),
  };
  jwt = {
    expired: jwtAuthority('jwt-expired', 'Old', 0, 24 * HOUR),
    old: jwtAuthority('jwt-old', 'Old', 6 * HOUR, 31 * HOUR, true),
    active: jwtAuthority('jwt-active', 'Active', 12 * HOUR, 36 * HOUR),
    revoked: jwtAuthority('jwt-revoked', 'Revoked', 12 * HOUR, 36 * HOUR),
    revokedById: jwtAuthority('jwt-revoked-by-id', 'Old', 12 * HOUR, 36 * HOUR),
  };
  journal = {
    ...emptyJournal('example.org'),
    authorities: [...Object.values(x), ...Object.values(jwt)],
    revoked: [
      { type: 'X509', id: x.revokedById.id },
      { type: 'JWT', id: jwt.revokedById.id },
      // An upstream root with a colliding id must not hide an own authority.
      { type: 'UpstreamX509', id: x.active.id },
    ],
  };
  root = await makeCa(-DAY, 365 * DAY, 'upstream-root');
  root2 = await makeCa(-2 * DAY, 365 * DAY, 'upstream-root-2');
});

const build = (overrides: Partial<TrustBundleInput> = {}) =>
  buildTrustBundle({ journal, now: NOW, refreshHintSeconds: 300, ...overrides });

describe('buildTrustBundle', () => {
  it('publishes Prepared, Active, Old and Tainted authorities in notBefore order, nothing revoked or expired', () => {
    const bundle = build();
    expect(bundle.published.map((p) => `${p.type} ${p.id}`)).toEqual([
      `X509 ${x.old.id}`,
      `X509 ${x.active.id}`,
      `X509 ${x.rsa.id}`,
      `X509 ${x.prepared.id}`,
      'JWT jwt-old',
      'JWT jwt-active',
    ]);
    const spiffe = parseSpiffe(bundle.files['bundle.spiffe.json']);
    expect(spiffe.keys.map((k) => k.use)).toEqual([
      'x509-svid',
      'x509-svid',
      'x509-svid',
      'x509-svid',
      'jwt-svid',
      'jwt-svid',
    ]);
    expect(spiffe.spiffe_refresh_hint).toBe(300);
  });

  it('gives each x509-svid key exactly one x5c, equal to a certificate in bundle.pem, and no kid', () => {
    const bundle = build();
    const pems = pemBlocks(bundle.files['bundle.pem']);
    const spiffe = parseSpiffe(bundle.files['bundle.spiffe.json']);
    const x509Keys = spiffe.keys.filter((k) => k.use === 'x509-svid');
    expect(x509Keys.map((k) => k.x5c?.length)).toEqual([1, 1, 1, 1]);
    expect(x509Keys.map((k) => k.x5c?.[0])).toEqual(pems);
    expect(pems).toEqual([x.old, x.active, x.rsa, x.prepared].map((a) => derOf(a.certificate)));
    for (const key of x509Keys) {
      expect(key).not.toHaveProperty('kid');
      const cert = new X509Certificate(Buffer.from(key.x5c?.[0] ?? '', 'base64'));
      const { x5c: _x5c, use: _use, ...jwk } = key;
      expect(jwk).toEqual(cert.publicKey.export({ format: 'jwk' }));
    }
    expect(x509Keys.map((k) => k.kty)).toEqual(['EC', 'EC', 'RSA', 'EC']);
  });

  it('gives each jwt-svid key its kid, and lists the same keys in jwks.json with alg and use sig', () => {
    const bundle = build();
    const jwtKeys = parseSpiffe(bundle.files['bundle.spiffe.json']).keys.filter((k) => k.use === 'jwt-svid');
    const jwks = parseJwks(bundle.files['jwks.json']);
    expect(jwtKeys.map((k) => k.kid)).toEqual(['jwt-old', 'jwt-active']);
    expect(jwtKeys.map((k) => k.x5c)).toEqual([undefined, undefined]);
    expect(jwks.keys.map((k) => [k.kid, k.alg, k.use])).toEqual([
      ['jwt-old', 'RS256', 'sig'],
      ['jwt-active', 'ES256', 'sig'],
    ]);
    expect(jwks).toEqual(bundle.jwks);
    const {
      kid: _kid,
      alg: _alg,
      use: _use,
      ...publicMembers
    } = jwks.keys[1] ?? { kid: '', alg: '', use: 'sig' };
    expect(publicMembers).toEqual(jwt.active.publicKey);
  });

  it('never publishes a Revoked authority or an id in journal.revoked', () => {
    const bundle = build();
    const text = Object.values(bundle.files).join('\n');
    for (const a of [x.revoked, x.revokedById]) expect(text).not.toContain(derOf(a.certificate));
    for (const id of ['jwt-revoked', 'jwt-revoked-by-id']) expect(text).not.toContain(id);
  });

  it('publishes no keys when everything is revoked', () => {
    const revoked: Journal = {
      ...journal,
      authorities: journal.authorities.map((a) => ({ ...a, state: 'Revoked' })),
    };
    const bundle = build({ journal: revoked });
    expect(parseSpiffe(bundle.files['bundle.spiffe.json']).keys).toEqual([]);
    expect(parseJwks(bundle.files['jwks.json']).keys).toEqual([]);
    expect(bundle.files['bundle.pem']).toBe('');
  });

  it('prunes expired authorities but never the last of a type', () => {
    const late = build({ now: at(40 * HOUR) });
    expect(late.published.map((p) => p.id)).toEqual([x.prepared.id, 'jwt-active']);

    // Everything expired: the one that expires last stays.
    const allExpired = build({ now: at(100 * DAY) });
    expect(allExpired.published.map((p) => p.id)).toEqual([x.prepared.id, 'jwt-active']);

    // At notAfter an authority is expired.
    expect(build({ now: at(31 * HOUR) }).published.map((p) => p.id)).not.toContain(x.old.id);
    expect(build({ now: at(31 * HOUR - 1) }).published.map((p) => p.id)).toContain(x.old.id);
  });

  it('is deterministic: any order of the journal gives the same text and hash', () => {
    const reference = build();
    for (const authorities of orders(journal.authorities)) {
      const bundle = build({ journal: { ...journal, authorities, revoked: [...journal.revoked].reverse() } });
      expect(bundle.files).toEqual(reference.files);
      expect(bundle.contentHash).toBe(reference.contentHash);
    }
    expect(reference.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(reference.files['jwks.json']).toBe(canonicalJson(reference.jwks));
  });

  it('reports the size of all files together', () => {
    const bundle = build();
    const total = Object.values(bundle.files).reduce((n, text) => n + Buffer.byteLength(text), 0);
    expect(bundle.byteLength).toBe(total);
    expect(CONFIGMAP_LIMIT_BYTES).toBe(1_048_576);
  });

  it('rejects a refresh hint that is not a positive integer', () => {
    expect(() => build({ refreshHintSeconds: 0 })).toThrow(RangeError);
    expect(() => build({ refreshHintSeconds: 1.5 })).toThrow(RangeError);
  });

  describe('with upstream roots', () => {
    const upstreamRoots = (): UpstreamRoot[] => [
      { id: root.id, certificate: root.pem, notAfter: iso(365 * DAY) },
    ];

    it('replaces upstream-signed authorities with the roots, keeping self-signed ones until they expire', async () => {
      const signed = await x509Authority('Active', 29 * HOUR, 53 * HOUR, { upstream: root.id });
      const withUpstream: Journal = {
        ...journal,
        authorities: [
          ...journal.authorities.map((a) => (a === x.active ? { ...a, state: 'Old' as const } : a)),
          signed,
        ],
      };
      const bundle = build({ journal: withUpstream, upstreamRoots: upstreamRoots() });
      expect(bundle.published.filter((p) => p.type !== 'JWT').map((p) => `${p.type} ${p.id}`)).toEqual([
        `UpstreamX509 ${root.id}`,
        `X509 ${x.old.id}`,
        `X509 ${x.active.id}`,
        `X509 ${x.rsa.id}`,
        `X509 ${x.prepared.id}`,
      ]);
      expect(pemBlocks(bundle.files['bundle.pem'])).not.toContain(derOf(signed.certificate));
      expect(pemBlocks(bundle.files['bundle.pem'])[0]).toBe(derOf(root.pem));
      // Without the upstream, the upstream-signed authority is published itself.
      expect(build({ journal: withUpstream }).published.map((p) => p.id)).toContain(signed.id);
    });

    it('leaves out revoked roots and expired ones, but never the last', () => {
      const roots: UpstreamRoot[] = [
        { id: root.id, certificate: root.pem, notAfter: iso(365 * DAY) },
        { id: root2.id, certificate: root2.pem, notAfter: iso(20 * HOUR) },
      ];
      const ids = (b: ReturnType<typeof build>) =>
        b.published.filter((p) => p.type === 'UpstreamX509').map((p) => p.id);
      expect(ids(build({ upstreamRoots: roots, now: at(10 * HOUR) }))).toEqual([root2.id, root.id]);
      expect(ids(build({ upstreamRoots: roots }))).toEqual([root.id]);
      const revokedRoot: Journal = {
        ...journal,
        revoked: [...journal.revoked, { type: 'UpstreamX509', id: root.id }],
      };
      expect(ids(build({ journal: revokedRoot, upstreamRoots: roots }))).toEqual([root2.id]);
      expect(ids(build({ journal: revokedRoot, upstreamRoots: roots.slice(0, 1) }))).toEqual([]);
    });

    it('reads notBefore from the certificate when absent and publishes a repeated root once', () => {
      const withNotBefore = build({
        upstreamRoots: [
          { id: root.id, certificate: root.pem, notBefore: iso(-DAY), notAfter: iso(365 * DAY) },
        ],
      });
      const twice = build({ upstreamRoots: [...upstreamRoots(), ...upstreamRoots()] });
      expect(twice.files).toEqual(withNotBefore.files);
      expect(twice.published.find((p) => p.type === 'UpstreamX509')?.notBefore).toBe(iso(-DAY));
    });
  });
});

describe('journalUpstreamRoots', () => {
  const withBundle = async () => {
    const signed = await x509Authority('Active', 29 * HOUR, 53 * HOUR, { upstream: root.id });
    const upstreamRoots: UpstreamRoot[] = [
      { id: root.id, certificate: root.pem, notAfter: iso(365 * DAY) },
      { id: root2.id, certificate: root2.pem, notAfter: iso(365 * DAY) },
    ];
    const healthy = { ...journal, authorities: [...journal.authorities, signed] };
    const bundle = build({ journal: healthy, upstreamRoots });
    return {
      journal: { ...healthy, bundle: { ...healthy.bundle, pem: bundle.files['bundle.pem'] } },
      bundle,
    };
  };

  it('gives back the upstream roots of the last recorded bundle, so the same bundle is built without the Secret', async () => {
    const { journal: recorded, bundle } = await withBundle();
    const roots = journalUpstreamRoots(recorded);
    expect(roots?.map((r) => r.id).sort()).toEqual([root.id, root2.id].sort());
    expect(build({ journal: recorded, upstreamRoots: roots }).files).toEqual(bundle.files);
  });

  it("never gives back a revoked root, nor one of Trustline's own authorities", async () => {
    const { journal: recorded } = await withBundle();
    const cut: Journal = {
      ...recorded,
      revoked: [...recorded.revoked, { type: 'UpstreamX509', id: root.id }],
    };
    const roots = journalUpstreamRoots(cut);
    expect(roots?.map((r) => r.id)).toEqual([root2.id]);
    const own = new Set(recorded.authorities.map((a) => a.id));
    expect(roots?.some((r) => own.has(r.id))).toBe(false);
    const published = build({ journal: cut, upstreamRoots: roots });
    expect(pemBlocks(published.files['bundle.pem'])).not.toContain(derOf(root.pem));
    expect(pemBlocks(published.files['bundle.pem'])).toContain(derOf(root2.pem));
  });

  it('is undefined for a journal that recorded no bundle: there is nothing to take the roots from', () => {
    expect(journalUpstreamRoots(journal)).toBeUndefined();
  });
});

describe('sequenceFor', () => {
  it('starts at 1 and moves only when the content changes', () => {
    const first = build();
    expect(first.sequence).toBe(1);
    const j1 = sequenceFor(journal, first.contentHash);
    expect(j1.bundle).toEqual({ sequence: 1, contentHash: first.contentHash });
    expect(parseSpiffe(first.files['bundle.spiffe.json']).spiffe_sequence).toBe(1);

    const same = build({ journal: j1, now: at(30 * HOUR + 1) });
    expect(same.contentHash).toBe(first.contentHash);
    expect(same.sequence).toBe(1);
    expect(same.files).toEqual(first.files);
    expect(sequenceFor(j1, same.contentHash)).toBe(j1);

    // x.old expires at 31h: the content changes, so does the sequence.
    const pruned = build({ journal: j1, now: at(31 * HOUR) });
    expect(pruned.contentHash).not.toBe(first.contentHash);
    expect(pruned.sequence).toBe(2);
    const j2 = sequenceFor(j1, pruned.contentHash);
    expect(j2.bundle.sequence).toBe(2);
    expect(parseSpiffe(pruned.files['bundle.spiffe.json']).spiffe_sequence).toBe(2);
    expect(j1.bundle.sequence).toBe(1);

    // A different refresh hint is different content.
    expect(build({ journal: j2, now: at(31 * HOUR), refreshHintSeconds: 60 }).sequence).toBe(3);
  });

  it('hashes the content without the sequence', () => {
    const atSequence = (sequence: number) =>
      build({ journal: { ...journal, bundle: { sequence, contentHash: 'something else' } } });
    expect(atSequence(7).contentHash).toBe(atSequence(0).contentHash);
    expect(atSequence(7).files['bundle.spiffe.json']).not.toBe(atSequence(0).files['bundle.spiffe.json']);
  });
});

describe('refreshHintSeconds', () => {
  const policy = (x509TtlMs: number, jwtTtlMs: number) => ({
    x509: { keyType: 'EC-P256' as const, ttlMs: x509TtlMs },
    jwt: { algorithm: 'ES256' as const, ttlMs: jwtTtlMs },
  });

  it('is a tenth of the shortest TTL, at most 300 and at least 1 second, whole seconds', () => {
    expect(refreshHintSeconds(policy(DAY, DAY))).toBe(300);
    expect(refreshHintSeconds(policy(DAY, 30 * 60_000))).toBe(180);
    expect(refreshHintSeconds(policy(25_555, DAY))).toBe(2);
    expect(refreshHintSeconds(policy(5_000, DAY))).toBe(1);
  });
});

describe('publicJwk', () => {
  it('keeps only the public members', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const full = privateKey.export({ format: 'jwk' });
    const jwk = publicJwk(full);
    expect(Object.keys(jwk).sort()).toEqual(['crv', 'kty', 'x', 'y']);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
    expect(Object.keys(publicJwk(rsa)).sort()).toEqual(['e', 'kty', 'n']);
  });

  it('refuses unknown key types and missing members', () => {
    expect(() => publicJwk({ kty: 'oct', k: 'secret' })).toThrow(/unsupported/);
    expect(() => publicJwk({ kty: 'constructor' })).toThrow(/unsupported/);
    expect(() => publicJwk({ kty: 'EC', crv: 'P-256', x: 'x' })).toThrow(/lacks its public member y/);
  });
});
