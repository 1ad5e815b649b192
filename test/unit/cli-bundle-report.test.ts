import { beforeAll, describe, expect, it } from 'vitest';
import { bundleReport, renderBundleReport } from '../../src/cli/bundle-report.ts';
import { renderTable } from '../../src/cli/table.ts';
import { describeValidity, humanDuration, validityAt } from '../../src/cli/time.ts';
import { mintJwtAuthority, mintX509Authority } from '../../src/core/authorities/mint.ts';
import { emptyJournal, type JwtAuthority, type X509Authority } from '../../src/core/authorities/model.ts';
import { buildTrustBundle } from '../../src/core/bundle/trust-bundle.ts';
import { authorityStatuses } from '../../src/core/trustdomain/status.ts';
import { parseSpiffeBundle, type SpiffeBundle } from '../../src/core/verify/bundle.ts';

const MINTED = new Date('2030-06-01T12:00:00.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TRUST_DOMAIN = 'example.org';

let active: X509Authority;
let prepared: X509Authority;
let jwt: JwtAuthority;
let bundle: SpiffeBundle;

beforeAll(async () => {
  const x509 = () =>
    mintX509Authority({ trustDomain: TRUST_DOMAIN, keyType: 'EC-P256', now: MINTED, ttlMs: 7 * DAY });
  active = { ...(await x509()), state: 'Active' };
  prepared = { ...(await x509()), state: 'Prepared' };
  jwt = { ...(await mintJwtAuthority({ algorithm: 'ES256', now: MINTED, ttlMs: 2 * DAY })), state: 'Active' };
  const journal = { ...emptyJournal(TRUST_DOMAIN), authorities: [active, prepared, jwt] };
  bundle = parseSpiffeBundle(
    buildTrustBundle({ journal, now: MINTED, refreshHintSeconds: 300 }).files['bundle.spiffe.json'],
  );
}, 60_000);

/** The states the TrustDomain reports for these authorities, as its status carries them. */
const states = () => ({
  trustDomainObject: 'shop',
  authorities: authorityStatuses({ ...emptyJournal(TRUST_DOMAIN), authorities: [active, prepared, jwt] }),
});

describe('bundleReport', () => {
  it('reports a bundle file: validity from the certificates, no states, JWT expiry unknown', () => {
    const now = new Date(MINTED.getTime() + DAY);
    const report = bundleReport({ source: 'bundle.json', bundle, states: undefined, notes: [], now });
    expect(report).toMatchObject({
      source: 'bundle.json',
      trustDomain: TRUST_DOMAIN,
      sequence: 1,
      refreshHintSeconds: 300,
      statesFrom: null,
      ignoredKeys: 0,
    });
    const x509 = report.authorities.filter((a) => a.use === 'x509-svid');
    expect(x509.map((a) => a.id).sort()).toEqual([active.id, prepared.id].sort());
    for (const authority of x509) {
      expect(authority).toMatchObject({
        subject: `O=Trustline, CN=${TRUST_DOMAIN}`,
        spiffeId: `spiffe://${TRUST_DOMAIN}`,
        trustDomain: TRUST_DOMAIN,
        notBefore: '2030-06-01T11:59:50Z',
        notAfter: '2030-06-08T12:00:00Z',
        validity: { status: 'valid', secondsLeft: 6 * 86_400, secondsToStart: 0 },
        state: null,
      });
    }
    expect(report.authorities.filter((a) => a.use === 'jwt-svid')).toEqual([
      {
        use: 'jwt-svid',
        kid: jwt.id,
        kty: 'EC',
        crv: 'P-256',
        alg: null,
        notBefore: null,
        notAfter: null,
        validity: null,
        state: null,
      },
    ]);
    const text = renderBundleReport(report);
    expect(text).toContain('valid, expires in 6d');
    expect(text).toContain('Sequence:      1');
    expect(text).toContain('Refresh hint:  300s');
    expect(text).toContain('unknown (not in the bundle)');
  });

  it("adds each authority's state and the JWT keys' validity from the TrustDomain's status", () => {
    const now = new Date(MINTED.getTime() + DAY);
    const report = bundleReport({
      source: 'configmap/shop/bundle',
      bundle,
      states: states(),
      notes: [],
      now,
    });
    expect(report.statesFrom).toBe('TrustDomain shop');
    const stateOf = (id: string) =>
      report.authorities.find((a) => (a.use === 'x509-svid' ? a.id : a.kid) === id)?.state;
    expect(stateOf(active.id)).toBe('Active');
    expect(stateOf(prepared.id)).toBe('Prepared');
    expect(stateOf(jwt.id)).toBe('Active');
    const jwtReport = report.authorities.find((a) => a.use === 'jwt-svid');
    expect(jwtReport?.validity).toEqual({ status: 'valid', secondsLeft: 86_400, secondsToStart: 0 });
    const text = renderBundleReport(report);
    expect(text).toMatch(new RegExp(`${active.id} .* Active +valid, expires in 6d`));
    expect(text).toMatch(
      new RegExp(`${jwt.id} +EC P-256 +2030-06-03T12:00:00Z +Active +valid, expires in 24h`),
    );
  });

  it('shows expired authorities as expired, with how long ago', () => {
    const now = new Date(MINTED.getTime() + 7 * DAY + 2 * HOUR);
    const report = bundleReport({ source: 'bundle.json', bundle, states: states(), notes: [], now });
    expect(report.authorities.map((a) => a.validity?.status)).toEqual(['expired', 'expired', 'expired']);
    const text = renderBundleReport(report);
    expect(text).toContain('expired 2h ago');
    expect(text).toContain('expired 5d ago');
  });

  it('says when the bundle is empty and passes notes on', () => {
    const empty = parseSpiffeBundle('{"keys": [], "spiffe_sequence": 9}');
    const report = bundleReport({
      source: 'b.json',
      bundle: empty,
      states: undefined,
      notes: ['no TrustDomain owns it'],
      now: MINTED,
    });
    expect(report.trustDomain).toBeNull();
    const text = renderBundleReport(report);
    expect(text).toContain('X.509 authorities: none');
    expect(text).toContain('every authority is revoked');
    expect(text).toContain('Note: no TrustDomain owns it');
  });
});

describe('time and table formatting', () => {
  it.each([
    [0, '0s'],
    [119_000, '119s'],
    [120_000, '2m'],
    [2 * HOUR - 1, '119m'],
    [2 * HOUR, '2h'],
    [2 * DAY - 1, '47h'],
    [6 * DAY + 23 * HOUR, '6d'],
    [-3 * HOUR, '3h'],
  ])('humanDuration(%d) is %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });

  it('describes validity at an injected now', () => {
    const notBefore = new Date(MINTED.getTime());
    const notAfter = new Date(MINTED.getTime() + DAY);
    expect(describeValidity(validityAt(notBefore, notAfter, new Date(MINTED.getTime() + HOUR)))).toBe(
      'valid, expires in 23h',
    );
    expect(describeValidity(validityAt(notBefore, notAfter, new Date(MINTED.getTime() - HOUR)))).toBe(
      'not yet valid, starts in 60m',
    );
    expect(describeValidity(validityAt(notBefore, notAfter, new Date(notAfter.getTime() + 1000)))).toBe(
      'expired 1s ago',
    );
  });

  it('pads table columns to the widest cell and trims trailing space', () => {
    expect(
      renderTable(
        ['A', 'LONGER'],
        [
          ['wide cell', 'x'],
          ['b', ''],
        ],
      ),
    ).toBe('A           LONGER\nwide cell   x\nb\n');
  });
});
