import { describe, expect, it } from 'vitest';
import { mintJwtAuthority, mintX509Authority } from '../../src/core/authorities/mint.ts';
import type { Authority, Journal, JwtAuthority, X509Authority } from '../../src/core/authorities/model.ts';
import { activeX509Expiry, authorityStatuses } from '../../src/core/trustdomain/status.ts';

const NOW = new Date('2030-06-01T12:00:00Z');
const HOUR = 3_600_000;
const FAKE_KEY = '-----BEGIN PRIVATE KEY-----\nMIGHAgEA\n-----END PRIVATE KEY-----\n';
const FAKE_CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

const journal = (authorities: Authority[]): Journal => ({
  version: 1,
  trustDomain: 'example.org',
  authorities,
  revoked: [],
  revocations: [],
  bundle: { sequence: 3, contentHash: 'abc' },
});

const x509 = (
  id: string,
  state: X509Authority['state'],
  notBefore: string,
  notAfter: string,
  upstream?: X509Authority['upstream'],
): X509Authority => ({
  type: 'X509',
  id,
  state,
  keyType: 'EC-P256',
  notBefore,
  notAfter,
  privateKey: FAKE_KEY,
  certificate: FAKE_CERT,
  ...(upstream === undefined ? {} : { upstream }),
});

const jwt = (
  id: string,
  state: JwtAuthority['state'],
  notBefore: string,
  notAfter: string,
): JwtAuthority => ({
  type: 'JWT',
  id,
  state,
  algorithm: 'ES256',
  notBefore,
  notAfter,
  privateKey: FAKE_KEY,
  publicKey: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' },
});

describe('authorityStatuses', () => {
  it('never carries private keys or certificates of real authorities', async () => {
    const [ca, key] = await Promise.all([
      mintX509Authority({ trustDomain: 'example.org', keyType: 'EC-P256', now: NOW, ttlMs: 24 * HOUR }),
      mintJwtAuthority({ algorithm: 'ES256', now: NOW, ttlMs: 24 * HOUR }),
    ]);
    const statuses = authorityStatuses(journal([ca, key]));
    const text = JSON.stringify(statuses);
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toContain('BEGIN');
    expect(statuses).toEqual([
      { id: key.id, kind: 'JWT', state: 'Prepared', notBefore: key.notBefore, notAfter: key.notAfter },
      {
        id: ca.id,
        kind: 'X509',
        state: 'Prepared',
        notBefore: ca.notBefore,
        notAfter: ca.notAfter,
        upstreamSigned: false,
      },
    ]);
  });

  it('never carries the upstream chain', () => {
    const signed = x509('aa', 'Active', '2030-06-01T00:00:00.000Z', '2030-06-02T00:00:00.000Z', {
      signerId: 'ff',
      rootId: 'ff',
      chain: [FAKE_CERT],
    });
    const statuses = authorityStatuses(journal([signed]));
    expect(JSON.stringify(statuses)).not.toContain('BEGIN');
    expect(statuses).toEqual([
      {
        id: 'aa',
        kind: 'X509',
        state: 'Active',
        notBefore: '2030-06-01T00:00:00.000Z',
        notAfter: '2030-06-02T00:00:00.000Z',
        upstreamSigned: true,
      },
    ]);
  });

  it('orders by kind, then notBefore, then id, whatever the input order', () => {
    const authorities = [
      x509('b2', 'Prepared', '2030-06-02T00:00:00.000Z', '2030-06-03T00:00:00.000Z'),
      jwt('kid-late', 'Prepared', '2030-06-02T00:00:00.000Z', '2030-06-03T00:00:00.000Z'),
      x509('a1', 'Old', '2030-05-31T00:00:00.000Z', '2030-06-01T00:00:00.000Z'),
      x509('c3', 'Active', '2030-06-01T00:00:00.000Z', '2030-06-02T00:00:00.000Z'),
      x509('a0', 'Active', '2030-06-01T00:00:00.000Z', '2030-06-02T00:00:00.000Z'),
      jwt('kid-early', 'Active', '2030-06-01T00:00:00.000Z', '2030-06-02T00:00:00.000Z'),
    ];
    const expected = [
      ['JWT', 'kid-early'],
      ['JWT', 'kid-late'],
      ['X509', 'a1'],
      ['X509', 'a0'],
      ['X509', 'c3'],
      ['X509', 'b2'],
    ];
    const orderOf = (list: Authority[]) => authorityStatuses(journal(list)).map(({ kind, id }) => [kind, id]);
    expect(orderOf(authorities)).toEqual(expected);
    expect(orderOf([...authorities].reverse())).toEqual(expected);
    expect(orderOf([...authorities.slice(3), ...authorities.slice(0, 3)])).toEqual(expected);
  });

  it('copies id, state and validity of each authority', () => {
    const [status] = authorityStatuses(
      journal([x509('0a1b', 'Tainted', '2030-06-01T00:00:00.000Z', '2030-06-02T00:00:00.000Z')]),
    );
    expect(status).toEqual({
      id: '0a1b',
      kind: 'X509',
      state: 'Tainted',
      notBefore: '2030-06-01T00:00:00.000Z',
      notAfter: '2030-06-02T00:00:00.000Z',
      upstreamSigned: false,
    });
  });

  it('marks X.509 authorities as upstream-signed or not, and leaves the field off JWT authorities', () => {
    const statuses = authorityStatuses(
      journal([
        x509('aa', 'Active', '2030-06-01T00:00:00.000Z', '2030-06-02T00:00:00.000Z', {
          signerId: 'ff',
          rootId: 'ff',
          chain: [FAKE_CERT],
        }),
        x509('bb', 'Prepared', '2030-06-01T01:00:00.000Z', '2030-06-02T01:00:00.000Z'),
        jwt('kid', 'Active', '2030-06-01T00:00:00.000Z', '2030-06-02T00:00:00.000Z'),
      ]),
    );
    expect(statuses.map((s) => [s.id, s.upstreamSigned])).toEqual([
      ['kid', undefined],
      ['aa', true],
      ['bb', false],
    ]);
    const jwtStatus = statuses.find((s) => s.kind === 'JWT');
    expect(jwtStatus !== undefined && 'upstreamSigned' in jwtStatus).toBe(false);
  });

  it('gives an empty list for an empty journal', () => {
    expect(authorityStatuses(journal([]))).toEqual([]);
  });
});

describe('activeX509Expiry', () => {
  it('gives the notAfter of the active X.509 authority', () => {
    expect(
      activeX509Expiry(
        journal([
          jwt('kid', 'Active', '2030-06-01T00:00:00.000Z', '2030-06-09T00:00:00.000Z'),
          x509('old', 'Old', '2030-05-31T00:00:00.000Z', '2030-06-01T12:00:00.000Z'),
          x509('active', 'Active', '2030-06-01T00:00:00.000Z', '2030-06-02T00:00:00.000Z'),
          x509('next', 'Prepared', '2030-06-01T06:00:00.000Z', '2030-06-02T06:00:00.000Z'),
        ]),
      ),
    ).toBe('2030-06-02T00:00:00.000Z');
  });

  it('gives undefined without an active X.509 authority, even with an active JWT one', () => {
    expect(
      activeX509Expiry(
        journal([
          jwt('kid', 'Active', '2030-06-01T00:00:00.000Z', '2030-06-09T00:00:00.000Z'),
          x509('next', 'Prepared', '2030-06-01T06:00:00.000Z', '2030-06-02T06:00:00.000Z'),
        ]),
      ),
    ).toBeUndefined();
    expect(activeX509Expiry(journal([]))).toBeUndefined();
  });
});
