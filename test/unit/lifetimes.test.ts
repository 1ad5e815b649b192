import { describe, expect, it } from 'vitest';
import { trustDomainSpecSchema } from '../../src/api/trustdomain.ts';
import {
  authorityPolicy,
  lifetimeProblem,
  MIN_AUTHORITY_TO_SVID_RATIO,
  svidLifetimes,
} from '../../src/core/trustdomain/lifetimes.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** A spec as the operator sees it: through the schema, so every default applies. */
const spec = (fields: {
  ca?: { ttl?: string; keyType?: 'EC-P256' | 'RSA-2048' };
  jwt?: { ttl?: string; algorithm?: 'ES256' | 'PS384' };
  svid?: { x509TTL?: string; jwtTTL?: string };
}) => trustDomainSpecSchema.parse({ trustDomain: 'example.org', ...fields });

const x509Message = (caTtl: string, svidTtl: string) =>
  `ca.ttl ${caTtl} is under 6 times svid.x509TTL ${svidTtl}; ` +
  'raise ca.ttl or lower svid.x509TTL, so every SVID is signed well before its authority expires';
const jwtMessage = (jwtTtl: string, svidTtl: string) =>
  `jwt.ttl ${jwtTtl} is under 6 times svid.jwtTTL ${svidTtl}; ` +
  'raise jwt.ttl or lower svid.jwtTTL, so every SVID is signed well before its authority expires';

describe('lifetimeProblem', () => {
  it('uses a ratio of 6', () => {
    expect(MIN_AUTHORITY_TO_SVID_RATIO).toBe(6);
  });

  it('accepts the defaults', () => {
    expect(lifetimeProblem(spec({}))).toBeUndefined();
  });

  it('accepts an X.509 authority exactly 6 times the SVID lifetime', () => {
    expect(lifetimeProblem(spec({ ca: { ttl: '6h' }, svid: { x509TTL: '1h' } }))).toBeUndefined();
    expect(lifetimeProblem(spec({ ca: { ttl: '3h' }, svid: { x509TTL: '30m' } }))).toBeUndefined();
  });

  it('refuses an X.509 authority just under 6 times the SVID lifetime', () => {
    expect(lifetimeProblem(spec({ ca: { ttl: '5h59m59s' }, svid: { x509TTL: '1h' } }))).toBe(
      x509Message('5h59m59s', '1h'),
    );
    expect(lifetimeProblem(spec({ ca: { ttl: '6h' }, svid: { x509TTL: '1h0m1s' } }))).toBe(
      x509Message('6h', '1h0m1s'),
    );
  });

  it('accepts a JWT authority exactly 6 times the SVID lifetime', () => {
    expect(lifetimeProblem(spec({ jwt: { ttl: '3h' }, svid: { jwtTTL: '30m' } }))).toBeUndefined();
    expect(lifetimeProblem(spec({ jwt: { ttl: '1h' }, svid: { jwtTTL: '10m' } }))).toBeUndefined();
  });

  it('refuses a JWT authority just under 6 times the SVID lifetime', () => {
    expect(lifetimeProblem(spec({ jwt: { ttl: '2h59m59s' }, svid: { jwtTTL: '30m' } }))).toBe(
      jwtMessage('2h59m59s', '30m'),
    );
  });

  it('quotes the durations as the user wrote them', () => {
    expect(lifetimeProblem(spec({ ca: { ttl: '90m' }, svid: { x509TTL: '0.5h' } }))).toBe(
      x509Message('90m', '0.5h'),
    );
  });

  it('reports both pairs at once, X.509 first, joined with "; "', () => {
    expect(
      lifetimeProblem(
        spec({ ca: { ttl: '5h' }, jwt: { ttl: '2h' }, svid: { x509TTL: '1h', jwtTTL: '30m' } }),
      ),
    ).toBe(`${x509Message('5h', '1h')}; ${jwtMessage('2h', '30m')}`);
  });

  it('checks the default SVID lifetimes against a shortened authority', () => {
    // Defaults: svid.x509TTL 1h, svid.jwtTTL 30m.
    expect(lifetimeProblem(spec({ ca: { ttl: '5h' } }))).toBe(x509Message('5h', '1h'));
    expect(lifetimeProblem(spec({ jwt: { ttl: '2h' } }))).toBe(jwtMessage('2h', '30m'));
  });
});

describe('authorityPolicy', () => {
  it('gives the defaults: EC-P256 and ES256, 24 hours each', () => {
    expect(authorityPolicy(spec({}))).toEqual({
      x509: { keyType: 'EC-P256', ttlMs: 24 * HOUR },
      jwt: { algorithm: 'ES256', ttlMs: 24 * HOUR },
    });
  });

  it('reads key types and lifetimes from the spec', () => {
    expect(
      authorityPolicy(
        spec({ ca: { keyType: 'RSA-2048', ttl: '1h30m' }, jwt: { algorithm: 'PS384', ttl: '90s' } }),
      ),
    ).toEqual({
      x509: { keyType: 'RSA-2048', ttlMs: 90 * MINUTE },
      jwt: { algorithm: 'PS384', ttlMs: 90_000 },
    });
  });
});

describe('svidLifetimes', () => {
  it('gives the defaults: 1 hour for X.509, 30 minutes for JWT', () => {
    expect(svidLifetimes(spec({}))).toEqual({ x509Ms: HOUR, jwtMs: 30 * MINUTE });
  });

  it('reads the lifetimes from the spec', () => {
    expect(svidLifetimes(spec({ svid: { x509TTL: '2h15m', jwtTTL: '45m' } }))).toEqual({
      x509Ms: 135 * MINUTE,
      jwtMs: 45 * MINUTE,
    });
  });
});
