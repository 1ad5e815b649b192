import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { JwtAlgorithm } from '../../src/api/trustdomain.ts';
import { mintJwtAuthority } from '../../src/core/authorities/mint.ts';
import type { JwtAuthority } from '../../src/core/authorities/model.ts';
import { type JwtSvidParams, mintJwtSvid, prepareJwtSigner } from '../../src/core/svid/jwt-svid.ts';
import { failure } from './expectations.ts';

const NOW = new Date('2030-06-01T12:00:00.750Z');
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const TRUST_DOMAIN = 'example.org';
const SPIFFE_ID = 'spiffe://example.org/ns/payments/sa/api';
const ALGORITHMS: JwtAlgorithm[] = ['ES256', 'ES384', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

const authorities = new Map<JwtAlgorithm, JwtAuthority>();

beforeAll(async () => {
  const minted = await Promise.all(
    ALGORITHMS.map((algorithm) => mintJwtAuthority({ algorithm, now: NOW, ttlMs: DAY })),
  );
  for (const authority of minted) authorities.set(authority.algorithm, authority);
}, 120_000);

function authorityOf(algorithm: JwtAlgorithm): JwtAuthority {
  const authority = authorities.get(algorithm);
  if (authority === undefined) throw new Error(`no ${algorithm} authority`);
  return authority;
}

const params = (overrides: Partial<JwtSvidParams> = {}): JwtSvidParams => ({
  spiffeId: SPIFFE_ID,
  audiences: ['payments', 'https://ledger.example.org'],
  ttlMs: 5 * MINUTE,
  now: NOW,
  ...overrides,
});

/** Verifies as a relying party does: the published JWK, the one algorithm, one audience, at `at`. */
async function verify(token: string, authority: JwtAuthority, audience: string, at = NOW) {
  const key = await importJWK({ ...authority.publicKey, kid: authority.id }, authority.algorithm);
  return jwtVerify(token, key, { algorithms: [authority.algorithm], audience, currentDate: at });
}

describe('mintJwtSvid', () => {
  it.each(ALGORITHMS)(
    '%s: verifies with the public JWK, with exactly the header and claims',
    async (algorithm) => {
      const authority = authorityOf(algorithm);
      const svid = await mintJwtSvid(prepareJwtSigner(authority, TRUST_DOMAIN), params());
      const { payload, protectedHeader } = await verify(svid.token, authority, 'payments');
      expect(protectedHeader).toEqual({ alg: algorithm, kid: authority.id, typ: 'JWT' });
      expect(decodeProtectedHeader(svid.token)).toEqual(protectedHeader);
      expect(payload).toEqual({
        sub: SPIFFE_ID,
        aud: ['payments', 'https://ledger.example.org'],
        exp: seconds(NOW) + 300,
        iat: seconds(NOW),
        jti: svid.jti,
      });
      expect(svid).toMatchObject({
        authorityId: authority.id,
        issuedAt: new Date('2030-06-01T12:00:00.000Z'),
        notAfter: new Date('2030-06-01T12:05:00.000Z'),
      });
    },
  );

  it('does not verify under another authority', async () => {
    const svid = await mintJwtSvid(prepareJwtSigner(authorityOf('ES256')), params());
    const other = {
      ...authorityOf('ES256'),
      publicKey: authorityOf('ES384').publicKey,
      algorithm: 'ES384' as const,
    };
    await expect(verify(svid.token, other, 'payments')).rejects.toThrow();
  });

  it('keeps aud an array for one audience, without repeats', async () => {
    const svid = await mintJwtSvid(prepareJwtSigner(authorityOf('ES256')), params({ audiences: ['a', 'a'] }));
    expect(decodeJwt(svid.token).aud).toEqual(['a']);
  });

  it('sets iss only when an issuer is given', async () => {
    const signer = prepareJwtSigner(authorityOf('ES256'));
    const without = decodeJwt((await mintJwtSvid(signer, params())).token);
    expect('iss' in without).toBe(false);
    const issuer = 'https://oidc.example.org';
    const svid = await mintJwtSvid(signer, params({ issuer }));
    const { payload } = await verify(svid.token, authorityOf('ES256'), 'payments');
    expect(payload.iss).toBe(issuer);
    expect(Object.keys(payload).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'sub']);
  });

  it("caps exp at the authority's notAfter, in whole seconds", async () => {
    const authority = authorityOf('ES256');
    const now = new Date(Date.parse(authority.notAfter) - 2 * MINUTE + 400);
    const svid = await mintJwtSvid(prepareJwtSigner(authority), params({ now, ttlMs: 10 * MINUTE }));
    expect(svid.notAfter.toISOString()).toBe(authority.notAfter);
    expect(decodeJwt(svid.token).exp).toBe(Date.parse(authority.notAfter) / 1000);
    expect(decodeJwt(svid.token).iat).toBe(seconds(now));
    await expect(verify(svid.token, authority, 'payments', now)).resolves.toBeDefined();
    await expect(
      verify(svid.token, authority, 'payments', new Date(Date.parse(authority.notAfter) + 1000)),
    ).rejects.toThrow(/"exp" claim timestamp check failed/);
  });

  it('draws a fresh 128-bit jti for every token', async () => {
    const signer = prepareJwtSigner(authorityOf('ES256'));
    const jtis = new Set<string>();
    for (let i = 0; i < 100; i += 1) {
      const svid = await mintJwtSvid(signer, params());
      expect(svid.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(decodeJwt(svid.token).jti).toBe(svid.jti);
      jtis.add(svid.jti);
    }
    expect(jtis.size).toBe(100);
  });
});

describe('JWT-SVID requests that break the rules', () => {
  const signer = () => prepareJwtSigner(authorityOf('ES256'), TRUST_DOMAIN);

  it('InvalidAudience without audiences', async () => {
    const error = await failure(() => mintJwtSvid(signer(), params({ audiences: [] })));
    expect(error).toMatchObject({
      code: 'InvalidAudience',
      message: 'a JWT-SVID needs at least one audience',
    });
  });

  it('InvalidAudience for an empty audience', async () => {
    const error = await failure(() => mintJwtSvid(signer(), params({ audiences: ['a', ''] })));
    expect(error).toMatchObject({ code: 'InvalidAudience', message: 'an audience is the empty string' });
  });

  it('InvalidSpiffeId for a SPIFFE ID without a path', async () => {
    const error = await failure(() => mintJwtSvid(signer(), params({ spiffeId: 'spiffe://example.org' })));
    expect(error.code).toBe('InvalidSpiffeId');
    expect(error.message).toContain('"spiffe://example.org" is not a workload SPIFFE ID');
  });

  it('TrustDomainMismatch when the signer knows its trust domain, and any trust domain otherwise', async () => {
    const spiffeId = 'spiffe://example.com/ns';
    const error = await failure(() => mintJwtSvid(signer(), params({ spiffeId })));
    expect(error).toMatchObject({
      code: 'TrustDomainMismatch',
      message:
        '"spiffe://example.com/ns" is in trust domain example.com, but the authority signs for example.org',
    });
    const svid = await mintJwtSvid(prepareJwtSigner(authorityOf('ES256')), params({ spiffeId }));
    expect(decodeJwt(svid.token).sub).toBe(spiffeId);
  });

  it('InvalidTtl under a second', async () => {
    const error = await failure(() => mintJwtSvid(signer(), params({ ttlMs: 0 })));
    expect(error).toMatchObject({
      code: 'InvalidTtl',
      message: 'the lifetime must be at least one second, not 0 ms',
    });
  });

  it('AuthorityExpired once the authority has ended', async () => {
    const authority = authorityOf('ES256');
    const now = new Date(Date.parse(authority.notAfter) + 1);
    const error = await failure(() => mintJwtSvid(signer(), params({ now })));
    expect(error).toMatchObject({
      code: 'AuthorityExpired',
      message: `the authority is valid until ${authority.notAfter}: too late to issue an SVID at ${now.toISOString()}`,
    });
  });

  it('AuthorityUnusable for a key of the wrong kind, an unreadable key, or no valid notAfter', async () => {
    const authority = authorityOf('ES256');
    const wrongKind = await failure(() =>
      prepareJwtSigner({ ...authority, privateKey: authorityOf('RS256').privateKey }),
    );
    expect(wrongKind).toMatchObject({
      code: 'AuthorityUnusable',
      message: `the private key of JWT authority ${authority.id} is not a readable ES256 key`,
    });
    expect(await failure(() => prepareJwtSigner({ ...authority, privateKey: 'nope' }))).toMatchObject({
      code: 'AuthorityUnusable',
    });
    expect(await failure(() => prepareJwtSigner({ ...authority, notAfter: 'never' }))).toMatchObject({
      code: 'AuthorityUnusable',
      message: `JWT authority ${authority.id} has no valid notAfter`,
    });
  });
});
