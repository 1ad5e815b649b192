import { generateKeyPairSync } from 'node:crypto';
import { base64url, type JWTPayload, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { importJwtSigningKey } from '../../src/core/authorities/keys.ts';
import { mintJwtAuthority, mintX509Authority } from '../../src/core/authorities/mint.ts';
import { emptyJournal, type JwtAuthority } from '../../src/core/authorities/model.ts';
import { buildTrustBundle } from '../../src/core/bundle/trust-bundle.ts';
import { mintJwtSvid, prepareJwtSigner } from '../../src/core/svid/jwt-svid.ts';
import { parseSpiffeBundle, type SpiffeBundle } from '../../src/core/verify/bundle.ts';
import { JwtFormatError, jwtSvidRules, verifyJwtSvid } from '../../src/core/verify/jwt-rules.ts';

const NOW = new Date('2030-06-01T12:00:00.750Z');
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const TRUST_DOMAIN = 'example.org';
const SPIFFE_ID = 'spiffe://example.org/ns/payments/sa/api';
const AUDIENCE = 'payments';
const seconds = (ms: number) => Math.floor(ms / 1000);

let authority: JwtAuthority;
let rsaAuthority: JwtAuthority;
let bundle: SpiffeBundle;

beforeAll(async () => {
  const active = (a: JwtAuthority): JwtAuthority => ({ ...a, state: 'Active' });
  authority = active(await mintJwtAuthority({ algorithm: 'ES256', now: NOW, ttlMs: DAY }));
  rsaAuthority = active(await mintJwtAuthority({ algorithm: 'PS256', now: NOW, ttlMs: DAY }));
  // An X.509 authority too, as Trustline publishes one: it names the bundle's trust domain.
  const x509Authority = {
    ...(await mintX509Authority({ trustDomain: TRUST_DOMAIN, keyType: 'EC-P256', now: NOW, ttlMs: DAY })),
    state: 'Active' as const,
  };
  const journal = { ...emptyJournal(TRUST_DOMAIN), authorities: [x509Authority, authority, rsaAuthority] };
  bundle = parseSpiffeBundle(
    buildTrustBundle({ journal, now: NOW, refreshHintSeconds: 300 }).files['bundle.spiffe.json'],
  );
}, 120_000);

/** A token the project mints: the baseline every case breaks one thing of. */
const mint = async (from = authority) =>
  (
    await mintJwtSvid(prepareJwtSigner(from, TRUST_DOMAIN), {
      spiffeId: SPIFFE_ID,
      audiences: [AUDIENCE],
      ttlMs: 5 * MINUTE,
      now: NOW,
    })
  ).token;

const goodClaims = (): JWTPayload => ({
  sub: SPIFFE_ID,
  aud: [AUDIENCE],
  exp: seconds(NOW.getTime()) + 300,
  iat: seconds(NOW.getTime()),
});

/**
 * A token the project's minting refuses to write (no kid, a bad subject, no exp...), signed with the
 * authority's own key unless another is given, so only the broken part fails.
 */
async function sign(
  claims: JWTPayload,
  header: { kid?: string } = { kid: authority.id },
  key = importJwtSigningKey(authority.privateKey, 'ES256'),
): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'JWT', ...header }).sign(key);
}

/** An unsigned token (alg "none" or another the spec forbids): header and claims only. */
const unsigned = (header: Record<string, unknown>, claims: JWTPayload): string =>
  `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(claims))}.`;

const without = (name: keyof JWTPayload): JWTPayload => {
  const claims = goodClaims();
  delete claims[name];
  return claims;
};

const failedRules = async (token: string, options: { now?: Date; audience?: string } = {}) =>
  (
    await verifyJwtSvid(token, bundle, { now: options.now ?? NOW, audience: options.audience ?? AUDIENCE })
  ).failures.map((failure) => failure.rule);

describe('verifyJwtSvid', () => {
  it.each(['ES256', 'PS256'])(
    'accepts a %s JWT-SVID the project mints, and names its subject',
    async (alg) => {
      const token = await mint(alg === 'ES256' ? authority : rsaAuthority);
      expect(await verifyJwtSvid(token, bundle, { now: NOW, audience: AUDIENCE })).toEqual({
        kind: 'jwt-svid',
        spiffeId: SPIFFE_ID,
        failures: [],
      });
    },
  );

  it('accepts the unbroken hand-signed token, so each case below breaks exactly one thing', async () => {
    expect(await failedRules(await sign(goodClaims()))).toEqual([]);
  });

  const otherKey = () =>
    importJwtSigningKey(
      generateKeyPairSync('ec', { namedCurve: 'P-256' })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString(),
      'ES256',
    );

  /** Each rule, broken on its own: only that rule fails. */
  const cases: [rule: string, how: string, token: () => Promise<string>, options?: { audience?: string }][] =
    [
      ['alg', 'alg none', async () => unsigned({ alg: 'none', kid: authority.id }, goodClaims())],
      ['alg', 'alg HS256', async () => unsigned({ alg: 'HS256', kid: authority.id }, goodClaims())],
      ['kid-present', 'no kid header', () => sign(goodClaims(), {})],
      ['kid-in-bundle', 'a kid the bundle lacks', () => sign(goodClaims(), { kid: 'not-in-the-bundle' })],
      [
        'signature',
        'a signature by another key',
        () => sign(goodClaims(), { kid: authority.id }, otherKey()),
      ],
      [
        'signature',
        'a payload changed after signing',
        async () => {
          const [header, , signature] = (await mint()).split('.');
          const forged = base64url.encode(
            JSON.stringify({ ...goodClaims(), sub: 'spiffe://example.org/admin' }),
          );
          return `${header}.${forged}.${signature}`;
        },
      ],
      ['sub-spiffe-id', 'no sub', () => sign(without('sub'))],
      ['sub-spiffe-id', 'a sub that is no SPIFFE ID', () => sign({ ...goodClaims(), sub: 'payments-api' })],
      ['sub-spiffe-id', 'a sub without a path', () => sign({ ...goodClaims(), sub: 'spiffe://example.org' })],
      [
        'trust-domain',
        'a sub in another trust domain',
        () => sign({ ...goodClaims(), sub: 'spiffe://other.org/x' }),
      ],
      ['audience', 'another audience', () => mint(), { audience: 'ledger' }],
      ['audience', 'no aud', () => sign(without('aud'))],
      ['exp-present', 'no exp', () => sign(without('exp'))],
      ['not-expired', 'an exp in the past', () => sign({ ...goodClaims(), exp: seconds(NOW.getTime()) - 1 })],
      [
        'not-before',
        'an nbf in the future',
        () => sign({ ...goodClaims(), nbf: seconds(NOW.getTime()) + 60 }),
      ],
    ];

  it.each(cases)('fails %s alone for %s', async (rule, _how, token, options = {}) => {
    expect(await failedRules(await token(), options)).toEqual([rule]);
  });

  it('has a case for every rule, and every rule a distinct name', () => {
    const names = jwtSvidRules.map((rule) => rule.name);
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(cases.map(([rule]) => rule))).toEqual(new Set(names));
  });

  it('checks expiry at the injected now: expired exactly at exp', async () => {
    const token = await mint();
    const exp = NOW.getTime() + 5 * MINUTE;
    expect(await failedRules(token, { now: new Date(Math.floor(exp / 1000) * 1000 - 1) })).toEqual([]);
    expect(await failedRules(token, { now: new Date(Math.floor(exp / 1000) * 1000) })).toEqual([
      'not-expired',
    ]);
  });

  it('accepts aud as a single string', async () => {
    expect(await failedRules(await sign({ ...goodClaims(), aud: AUDIENCE }))).toEqual([]);
  });

  it('reports every failing rule at once, with messages that name the values', async () => {
    const token = await sign({ sub: 'spiffe://other.org/x', aud: ['ledger'] }, { kid: 'gone' });
    const { failures } = await verifyJwtSvid(token, bundle, { now: NOW, audience: AUDIENCE });
    expect(failures).toEqual([
      { rule: 'kid-in-bundle', message: 'kid "gone" names no jwt-svid key in the bundle' },
      {
        rule: 'trust-domain',
        message: 'spiffe://other.org/x is in trust domain other.org, the bundle is for example.org',
      },
      { rule: 'audience', message: 'aud ["ledger"] does not contain "payments"' },
      { rule: 'exp-present', message: 'exp is missing' },
    ]);
  });

  it('refuses what is not a JWS compact JWT at all', async () => {
    await expect(verifyJwtSvid('not-a-token', bundle, { now: NOW, audience: AUDIENCE })).rejects.toThrow(
      JwtFormatError,
    );
    await expect(verifyJwtSvid('a.b.c', bundle, { now: NOW, audience: AUDIENCE })).rejects.toThrow(
      /not a JWS compact JWT/,
    );
  });
});
