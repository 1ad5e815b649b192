import { describe, expect, it } from 'vitest';
import { type RegistrationEntrySpec, registrationEntrySpecSchema } from '../../src/api/registrationentry.ts';
import { trustDomainSpecSchema } from '../../src/api/trustdomain.ts';
import {
  desiredIdentity,
  isRefusal,
  keyTypeRefusal,
  x509Lifetime,
} from '../../src/core/svid/desired-identity.ts';
import { lifetimeProblem } from '../../src/core/trustdomain/lifetimes.ts';

const HOUR = 3_600_000;

const trustDomain = (svid: Record<string, unknown> = {}, ca: Record<string, unknown> = {}) =>
  trustDomainSpecSchema.parse({ trustDomain: 'example.org', svid, ca });
const entry = (x509: Record<string, unknown> = {}): RegistrationEntrySpec =>
  registrationEntrySpecSchema.parse({
    trustDomainRef: { name: 'example' },
    spiffeIDPath: '/ns/shop/sa/api',
    secret: { name: 'api-svid' },
    x509,
  });

describe('x509Lifetime', () => {
  it('gives what the entry asks for within the limits', () => {
    expect(x509Lifetime(entry({ ttl: '2h' }), trustDomain())).toEqual({ ttlMs: 2 * HOUR, capped: undefined });
  });

  it('defaults to a ceiling of a sixth of ca.ttl, as before the limits existed', () => {
    expect(x509Lifetime(entry({ ttl: '8760h' }), trustDomain())).toEqual({
      ttlMs: 4 * HOUR,
      capped: 'x509.ttl 8760h is capped at 14400s, a sixth of the authority lifetime 24h',
    });
  });

  it('caps at svid.maxX509TTL when it is lower', () => {
    expect(x509Lifetime(entry({ ttl: '8760h' }), trustDomain({ maxX509TTL: '2h' }))).toEqual({
      ttlMs: 2 * HOUR,
      capped: "x509.ttl 8760h is capped at 7200s, the TrustDomain's svid.maxX509TTL 2h",
    });
  });

  it('never lets svid.maxX509TTL exceed a sixth of ca.ttl', () => {
    const result = x509Lifetime(entry({ ttl: '8760h' }), trustDomain({ maxX509TTL: '8h' }));
    expect(result).toMatchObject({ ttlMs: 4 * HOUR });
  });

  it('refuses a lifetime under svid.minX509TTL instead of raising it', () => {
    expect(x509Lifetime(entry({ ttl: '10s' }), trustDomain({ minX509TTL: '5m' }))).toEqual({
      refused: 'TTLBelowMinimum',
      message: "x509.ttl 10s is under the TrustDomain's svid.minX509TTL 5m: ask for at least 5m",
    });
  });

  it('accepts exactly the floor, and says so when the default is the one under it', () => {
    expect(x509Lifetime(entry({ ttl: '5m' }), trustDomain({ minX509TTL: '5m' }))).toMatchObject({
      ttlMs: 300_000,
    });
    expect(x509Lifetime(entry(), trustDomain({ x509TTL: '1m', minX509TTL: '5m' }))).toMatchObject({
      refused: 'TTLBelowMinimum',
      message: expect.stringContaining('the TrustDomain default svid.x509TTL 1m'),
    });
  });

  it('refuses everything when the floor is above the ceiling', () => {
    const result = x509Lifetime(entry({ ttl: '3h' }), trustDomain({ minX509TTL: '3h', maxX509TTL: '2h' }));
    expect(result).toMatchObject({ refused: 'TTLBelowMinimum' });
    expect(isRefusal(result) && result.message).toContain('is under its svid.minX509TTL 3h');
  });
});

describe('keyTypeRefusal', () => {
  it('allows every key type when svid.allowedKeyTypes is unset', () => {
    expect(keyTypeRefusal('RSA-4096', trustDomain(), 'x509.keyType asks for')).toBeUndefined();
  });

  it('refuses a key type outside svid.allowedKeyTypes, naming those allowed', () => {
    expect(
      keyTypeRefusal(
        'RSA-4096',
        trustDomain({ allowedKeyTypes: ['EC-P256', 'EC-P384'] }),
        'x509.keyType asks for',
      ),
    ).toEqual({
      refused: 'KeyTypeNotAllowed',
      message:
        "x509.keyType asks for RSA-4096, which the TrustDomain's svid.allowedKeyTypes do not allow: use one of EC-P256, EC-P384",
    });
  });
});

describe('desiredIdentity with limits', () => {
  const ecOnly = trustDomain({ allowedKeyTypes: ['EC-P256'], minX509TTL: '5m' });

  it('refuses an entry asking for a key type the TrustDomain does not allow', () => {
    expect(desiredIdentity(entry({ keyType: 'RSA-4096', ttl: '1h' }), ecOnly)).toMatchObject({
      refused: 'KeyTypeNotAllowed',
    });
  });

  it('refuses an entry whose default key type (ca.keyType) is not allowed', () => {
    const plan = desiredIdentity(entry(), trustDomain({ allowedKeyTypes: ['EC-P384'] }));
    expect(plan).toMatchObject({
      refused: 'KeyTypeNotAllowed',
      message: expect.stringContaining('ca.keyType'),
    });
  });

  it('refuses an entry under the floor', () => {
    expect(desiredIdentity(entry({ ttl: '10s' }), ecOnly)).toMatchObject({ refused: 'TTLBelowMinimum' });
  });

  it('plans an allowed entry with its lifetime capped and noted', () => {
    const plan = desiredIdentity(entry({ keyType: 'EC-P256', ttl: '8760h' }), ecOnly);
    if (isRefusal(plan)) throw new Error(plan.message);
    expect(plan.identity).toMatchObject({ keyType: 'EC-P256', x509TtlMs: 4 * HOUR });
    expect(plan.capped).toEqual([
      'x509.ttl 8760h is capped at 14400s, a sixth of the authority lifetime 24h',
    ]);
  });
});

describe('lifetimeProblem and svid.maxX509TTL', () => {
  it('refuses a ceiling above a sixth of ca.ttl', () => {
    expect(lifetimeProblem(trustDomain({ maxX509TTL: '5h' }))).toBe(
      'ca.ttl 24h is under 6 times svid.maxX509TTL 5h; raise ca.ttl or lower svid.maxX509TTL, so every SVID is signed well before its authority expires',
    );
  });

  it('accepts a ceiling of exactly a sixth of ca.ttl', () => {
    expect(lifetimeProblem(trustDomain({ maxX509TTL: '4h' }))).toBeUndefined();
  });
});
