import { beforeAll, describe, expect, it } from 'vitest';
import { mintJwtAuthority, mintX509Authority } from '../../src/core/authorities/mint.ts';
import { emptyJournal, type JwtAuthority, type X509Authority } from '../../src/core/authorities/model.ts';
import { buildTrustBundle } from '../../src/core/bundle/trust-bundle.ts';
import { BundleError, parseSpiffeBundle } from '../../src/core/verify/bundle.ts';
import { expectedTrustDomain } from '../../src/core/verify/trust-domain.ts';

const NOW = new Date('2030-06-01T12:00:00.750Z');
const DAY = 86_400_000;
const TRUST_DOMAIN = 'example.org';

let x509Authority: X509Authority;
let jwtAuthority: JwtAuthority;
let text: string;

beforeAll(async () => {
  x509Authority = {
    ...(await mintX509Authority({ trustDomain: TRUST_DOMAIN, keyType: 'EC-P256', now: NOW, ttlMs: DAY })),
    state: 'Active',
  };
  jwtAuthority = {
    ...(await mintJwtAuthority({ algorithm: 'ES384', now: NOW, ttlMs: DAY })),
    state: 'Prepared',
  };
  const journal = { ...emptyJournal(TRUST_DOMAIN), authorities: [x509Authority, jwtAuthority] };
  text = buildTrustBundle({ journal, now: NOW, refreshHintSeconds: 120 }).files['bundle.spiffe.json'];
}, 60_000);

/** The bundle Trustline published, with its JSON changed by `edit`. */
const edited = (edit: (bundle: { keys: Record<string, unknown>[] } & Record<string, unknown>) => void) => {
  const bundle = JSON.parse(text);
  edit(bundle);
  return JSON.stringify(bundle);
};

describe('parseSpiffeBundle', () => {
  it('reads back what Trustline publishes: authorities, sequence and refresh hint', () => {
    const bundle = parseSpiffeBundle(text);
    expect(bundle.sequence).toBe(1);
    expect(bundle.refreshHintSeconds).toBe(120);
    expect(bundle.ignoredKeys).toBe(0);
    expect(bundle.x509Authorities).toHaveLength(1);
    const [x509] = bundle.x509Authorities;
    expect(x509?.id).toBe(x509Authority.id);
    expect(x509?.uris).toEqual([`spiffe://${TRUST_DOMAIN}`]);
    expect(x509?.trustDomain).toBe(TRUST_DOMAIN);
    expect(x509?.notAfter.toISOString()).toBe(x509Authority.notAfter);
    expect(bundle.jwtAuthorities.map(({ kid, jwk }) => ({ kid, kty: jwk.kty, crv: jwk.crv }))).toEqual([
      { kid: jwtAuthority.id, kty: 'EC', crv: 'P-384' },
    ]);
  });

  it('reads an empty bundle, which means everything is revoked', () => {
    const bundle = parseSpiffeBundle('{"keys": []}');
    expect(bundle).toEqual({
      x509Authorities: [],
      jwtAuthorities: [],
      sequence: undefined,
      refreshHintSeconds: undefined,
      ignoredKeys: 0,
    });
  });

  it('ignores keys of another use, as the spec tells consumers to, and counts them', () => {
    const bundle = parseSpiffeBundle(
      edited((b) => b.keys.push({ kty: 'EC', use: 'enc', crv: 'P-256', x: 'a', y: 'b' })),
    );
    expect(bundle.ignoredKeys).toBe(1);
  });

  it.each([
    ['not JSON', '{keys', 'not JSON'],
    ['an array', '[]', 'Invalid input: expected object, received array'],
    ['no keys', '{"spiffe_sequence": 1}', 'keys is missing'],
    ['a key without kty', '{"keys": [{"use": "jwt-svid"}]}', 'keys.0.kty is missing'],
    [
      'a negative sequence',
      '{"keys": [], "spiffe_sequence": -1}',
      'spiffe_sequence: Too small: expected number to be >=0',
    ],
  ])('refuses %s', (_what, input, message) => {
    expect(() => parseSpiffeBundle(input)).toThrow(BundleError);
    expect(() => parseSpiffeBundle(input)).toThrow(`not a SPIFFE bundle: ${message}`);
  });

  it.each([
    [
      'an x509-svid key with two certificates',
      (b: { keys: Record<string, unknown>[] }) => {
        const [first] = b.keys;
        if (first) first.x5c = ['AAAA', 'BBBB'];
      },
      'keys.0.x5c must hold exactly one certificate, not 2',
    ],
    [
      'an x509-svid key whose x5c is no certificate',
      (b: { keys: Record<string, unknown>[] }) => {
        const [first] = b.keys;
        if (first) first.x5c = ['AAAA'];
      },
      'keys.0.x5c.0 is not a DER X.509 certificate',
    ],
    [
      'a jwt-svid key without kid',
      (b: { keys: Record<string, unknown>[] }) => {
        const second = b.keys[1];
        if (second) delete second.kid;
      },
      'keys.1.kid is missing',
    ],
    [
      'a jwt-svid key of an unknown type',
      (b: { keys: Record<string, unknown>[] }) => {
        const second = b.keys[1];
        if (second) second.kty = 'oct';
      },
      'keys.1: unsupported JWK key type oct',
    ],
  ])('refuses %s, naming the key', (_what, edit, message) => {
    expect(() => parseSpiffeBundle(edited(edit))).toThrow(`not a SPIFFE bundle: ${message}`);
  });
});

describe('expectedTrustDomain', () => {
  it('is the trust domain the X.509 authorities name, unless one is given', () => {
    const bundle = parseSpiffeBundle(text);
    expect(expectedTrustDomain(bundle)).toEqual({ trustDomain: TRUST_DOMAIN });
    expect(expectedTrustDomain(bundle, 'other.org')).toEqual({ trustDomain: 'other.org' });
  });

  it('cannot be known from JWT keys alone, nor from authorities naming several', () => {
    const bundle = parseSpiffeBundle(text);
    const [x509] = bundle.x509Authorities;
    if (x509 === undefined) throw new Error('no X.509 authority');
    expect(expectedTrustDomain({ ...bundle, x509Authorities: [] })).toEqual({
      problem: expect.stringContaining('the bundle names no trust domain'),
    });
    const other = { ...x509, trustDomain: 'other.org' };
    expect(expectedTrustDomain({ ...bundle, x509Authorities: [x509, other] })).toEqual({
      problem: 'the bundle names several trust domains (example.org, other.org); pass --trust-domain',
    });
  });
});
