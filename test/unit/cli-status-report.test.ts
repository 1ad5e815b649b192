import { describe, expect, it } from 'vitest';
import { API_VERSION } from '../../src/api/group.ts';
import { renderStatusReport, statusReport } from '../../src/cli/status-report.ts';

const NOW = new Date('2030-06-01T12:00:00.000Z');

const ready = (status: 'True' | 'False', reason: string) => ({
  conditions: [
    {
      type: 'Ready',
      status,
      reason,
      message: `${reason} happened`,
      lastTransitionTime: '2030-06-01T00:00:00Z',
    },
  ],
});

const trustDomain = {
  apiVersion: API_VERSION,
  kind: 'TrustDomain',
  metadata: { name: 'shop' },
  spec: { trustDomain: 'shop.example.org' },
  status: { ...ready('True', 'AuthoritiesActive'), expiresAt: '2030-06-07T12:00:00Z', bundleSequence: 3 },
};
const entry = {
  apiVersion: API_VERSION,
  kind: 'RegistrationEntry',
  metadata: { name: 'cart', namespace: 'payments' },
  spec: {
    trustDomainRef: { name: 'shop' },
    spiffeIDPath: '/ns/payments/sa/cart',
    secret: { name: 'cart-svid' },
  },
  status: {
    ...ready('True', 'Issued'),
    spiffeID: 'spiffe://shop.example.org/ns/payments/sa/cart',
    svid: {
      serial: '01',
      authorityID: 'ab',
      notAfter: '2030-06-01T10:00:00Z',
      renewAt: '2030-06-01T09:30:00Z',
    },
  },
};
const pendingEntry = {
  ...entry,
  metadata: { name: 'api', namespace: 'payments' },
  status: undefined,
};
const revocation = {
  apiVersion: API_VERSION,
  kind: 'KeyRevocation',
  metadata: { name: 'leaked-ca' },
  spec: {
    trustDomainRef: { name: 'shop' },
    authority: { kind: 'X509', id: 'ab12' },
    reason: 'KeyCompromise',
  },
  status: {
    ...ready('False', 'Reissuing'),
    phase: 'Tainted',
    affectedSVIDs: 5,
    reissuedSVIDs: 3,
    outstandingPodCertificates: 2,
  },
};
const badTrustDomain = {
  ...trustDomain,
  metadata: { name: 'bad' },
  spec: { trustDomain: 'spiffe://bad.example.org' },
};

describe('statusReport', () => {
  const report = statusReport({
    trustDomains: [trustDomain, badTrustDomain, 'not even an object'],
    registrationEntries: [entry, pendingEntry],
    keyRevocations: [revocation],
    now: NOW,
  });

  it('summarises each object with its Ready condition and expiry relative to now', () => {
    expect(report.trustDomains).toEqual([
      {
        name: 'shop',
        trustDomain: 'shop.example.org',
        ready: { status: 'True', reason: 'AuthoritiesActive', message: 'AuthoritiesActive happened' },
        activeAuthorityExpires: { at: '2030-06-07T12:00:00Z', secondsFromNow: 6 * 86_400 },
        bundleSequence: 3,
      },
    ]);
    expect(
      report.registrationEntries.map((line) => [
        line.name,
        line.spiffeId,
        line.svidExpires?.secondsFromNow ?? null,
      ]),
    ).toEqual([
      ['api', null, null],
      ['cart', 'spiffe://shop.example.org/ns/payments/sa/cart', -7200],
    ]);
    expect(report.keyRevocations).toEqual([
      {
        name: 'leaked-ca',
        trustDomainRef: 'shop',
        authority: { kind: 'X509', id: 'ab12' },
        reason: 'KeyCompromise',
        phase: 'Tainted',
        ready: { status: 'False', reason: 'Reissuing', message: 'Reissuing happened' },
        affectedSVIDs: 5,
        reissuedSVIDs: 3,
        outstandingPodCertificates: 2,
      },
    ]);
  });

  it('lists objects the schemas refuse, with the reason, instead of failing', () => {
    expect(report.invalid).toEqual([
      {
        kind: 'TrustDomain',
        namespace: null,
        name: 'bad',
        error: expect.stringContaining('spec.trustDomain: must be a bare trust domain name without a scheme'),
      },
      { kind: 'TrustDomain', namespace: null, name: null, error: expect.any(String) },
    ]);
  });

  it('renders tables a person reads at a glance', () => {
    const text = renderStatusReport(report);
    expect(text).toMatch(
      /shop +shop\.example\.org +True \(AuthoritiesActive\) +2030-06-07T12:00:00Z \(in 6d\) +3/,
    );
    expect(text).toMatch(
      /payments\/cart +shop +spiffe:\/\/shop\.example\.org\/ns\/payments\/sa\/cart +True \(Issued\) +2030-06-01T10:00:00Z \(2h ago\)/,
    );
    expect(text).toMatch(/payments\/api +shop +- +- +-/);
    expect(text).toMatch(
      /leaked-ca +shop +X509 ab12 +Tainted +False \(Reissuing\) +3\/5 SVIDs re-issued, 2 pod certificates outstanding/,
    );
    expect(text).toContain('INVALID OBJECTS');
    expect(text).toMatch(/TrustDomain +bad +spec\.trustDomain/);
  });

  it('says so when there is nothing of a kind', () => {
    const text = renderStatusReport(
      statusReport({ trustDomains: [], registrationEntries: [], keyRevocations: [], now: NOW }),
    );
    expect(text).toContain('No TrustDomains.');
    expect(text).toContain('No RegistrationEntries.');
    expect(text).toContain('No KeyRevocations.');
    expect(text).not.toContain('INVALID');
  });
});
