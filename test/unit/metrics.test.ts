import { describe, expect, it } from 'vitest';
import { METRIC_NAMES, Metrics } from '../../src/observability/metrics.ts';

const EXPIRY_A = new Date('2030-06-02T00:00:00Z');
const EXPIRY_B = new Date('2030-06-03T00:00:00Z');

/** The sample lines of one metric in the registry's exposition text. */
const samples = async (metrics: Metrics, name: string): Promise<string[]> =>
  (await metrics.registry.metrics()).split('\n').filter((line) => line.startsWith(`${name}{`));

const expiry = (trustDomain: string, type: string, id: string, state: string, date: Date) =>
  `${METRIC_NAMES.authorityExpiry}{trust_domain="${trustDomain}",type="${type}",id="${id}",state="${state}"} ${date.getTime() / 1000}`;

describe('Metrics', () => {
  it('uses the documented metric names', () => {
    expect(METRIC_NAMES).toEqual({
      authorityExpiry: 'trustline_authority_expiry_timestamp_seconds',
      authorityRotations: 'trustline_authority_rotations_total',
      bundleSequence: 'trustline_bundle_sequence',
      reconcileErrors: 'trustline_reconcile_errors_total',
      reconciles: 'trustline_reconciles_total',
      svidsIssued: 'trustline_svids_issued_total',
      svidIssuance: 'trustline_svid_issuance_duration_seconds',
      svidSoonestExpiry: 'trustline_svid_soonest_expiry_seconds',
      svidRenewalFailures: 'trustline_svid_renewal_failures_total',
      revocationReissue: 'trustline_revocation_reissue_seconds',
      revocationRevoked: 'trustline_revocation_revoked_seconds',
      podCertificateRequests: 'trustline_pod_certificate_requests_total',
      podCertificateIssuance: 'trustline_pod_certificate_issuance_seconds',
      leader: 'trustline_leader',
      apiRequests: 'trustline_kube_api_requests_total',
    });
  });

  it('reports whether this replica leads, and the process metrics once asked to', async () => {
    const metrics = new Metrics();
    metrics.setLeader(false);
    expect(await metrics.registry.getSingleMetricAsString('trustline_leader')).toMatch(
      /^trustline_leader 0$/m,
    );
    metrics.setLeader(true);
    expect(await metrics.registry.getSingleMetricAsString('trustline_leader')).toMatch(
      /^trustline_leader 1$/m,
    );
    expect(await metrics.registry.metrics()).not.toContain('process_cpu_seconds_total');
    metrics.collectProcessMetrics();
    expect(await metrics.registry.metrics()).toMatch(/^process_cpu_seconds_total /m);
  });

  it('reports the seconds until the soonest SVID expiry, and nothing once no SVID is kept', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const metrics = new Metrics(() => now);
    metrics.setSvidExpiry('shop/cart', {
      trustDomain: 'example.org',
      notAfter: new Date('2030-01-01T01:00:00Z'),
    });
    metrics.setSvidExpiry('shop/web', {
      trustDomain: 'example.org',
      notAfter: new Date('2030-01-01T00:10:00Z'),
    });
    expect(await metrics.registry.metrics()).toContain(
      'trustline_svid_soonest_expiry_seconds{trust_domain="example.org"} 600',
    );
    metrics.setSvidExpiry('shop/web', undefined);
    metrics.setSvidExpiry('shop/cart', undefined);
    expect(await metrics.registry.metrics()).not.toMatch(/^trustline_svid_soonest_expiry_seconds\{/m);
  });

  it('counts issued SVIDs by type and reason, and times X.509 issuance', async () => {
    const metrics = new Metrics();
    metrics.countIssued('x509', 'Initial', 0.004);
    metrics.countIssued('jwt', 'JwtRenewalDue', 0.001);
    const text = await metrics.registry.metrics();
    expect(text).toContain('trustline_svids_issued_total{type="x509",reason="Initial"} 1');
    expect(text).toContain('trustline_svids_issued_total{type="jwt",reason="JwtRenewalDue"} 1');
    expect(text).toContain('trustline_svid_issuance_duration_seconds_count 1');
  });

  it('reports each authority expiry as a Unix timestamp in seconds', async () => {
    const metrics = new Metrics();
    metrics.setAuthorities('example.org', [
      { type: 'X509', id: 'aa', state: 'Active', notAfter: EXPIRY_A },
      { type: 'JWT', id: 'kid-1', state: 'Prepared', notAfter: EXPIRY_B },
    ]);
    expect(await samples(metrics, METRIC_NAMES.authorityExpiry)).toEqual([
      `${METRIC_NAMES.authorityExpiry}{trust_domain="example.org",type="X509",id="aa",state="Active"} 1906588800`,
      expiry('example.org', 'JWT', 'kid-1', 'Prepared', EXPIRY_B),
    ]);
  });

  it('stops reporting authorities that are no longer set', async () => {
    const metrics = new Metrics();
    metrics.setAuthorities('example.org', [
      { type: 'X509', id: 'aa', state: 'Old', notAfter: EXPIRY_A },
      { type: 'X509', id: 'bb', state: 'Active', notAfter: EXPIRY_B },
    ]);
    metrics.setAuthorities('example.org', [{ type: 'X509', id: 'bb', state: 'Active', notAfter: EXPIRY_B }]);
    expect(await samples(metrics, METRIC_NAMES.authorityExpiry)).toEqual([
      expiry('example.org', 'X509', 'bb', 'Active', EXPIRY_B),
    ]);
  });

  it('drops the series of an old state when an authority changes state', async () => {
    const metrics = new Metrics();
    metrics.setAuthorities('example.org', [
      { type: 'X509', id: 'bb', state: 'Prepared', notAfter: EXPIRY_B },
    ]);
    metrics.setAuthorities('example.org', [{ type: 'X509', id: 'bb', state: 'Active', notAfter: EXPIRY_B }]);
    expect(await samples(metrics, METRIC_NAMES.authorityExpiry)).toEqual([
      expiry('example.org', 'X509', 'bb', 'Active', EXPIRY_B),
    ]);
  });

  it('keeps the authorities of each trust domain apart', async () => {
    const metrics = new Metrics();
    metrics.setAuthorities('one.org', [{ type: 'X509', id: 'aa', state: 'Active', notAfter: EXPIRY_A }]);
    metrics.setAuthorities('two.org', [{ type: 'X509', id: 'bb', state: 'Active', notAfter: EXPIRY_B }]);
    metrics.setAuthorities('one.org', []);
    expect(await samples(metrics, METRIC_NAMES.authorityExpiry)).toEqual([
      expiry('two.org', 'X509', 'bb', 'Active', EXPIRY_B),
    ]);
  });

  it('reports the bundle sequence per trust domain, the latest value winning', async () => {
    const metrics = new Metrics();
    metrics.setBundleSequence('example.org', 3);
    metrics.setBundleSequence('example.org', 4);
    metrics.setBundleSequence('other.org', 1);
    expect(await samples(metrics, METRIC_NAMES.bundleSequence)).toEqual([
      `${METRIC_NAMES.bundleSequence}{trust_domain="example.org"} 4`,
      `${METRIC_NAMES.bundleSequence}{trust_domain="other.org"} 1`,
    ]);
  });

  it('counts rotations by trust domain, type and state entered', async () => {
    const metrics = new Metrics();
    metrics.countRotation('example.org', 'X509', 'Active');
    metrics.countRotation('example.org', 'X509', 'Active');
    metrics.countRotation('example.org', 'JWT', 'Old');
    expect(await samples(metrics, METRIC_NAMES.authorityRotations)).toEqual([
      `${METRIC_NAMES.authorityRotations}{trust_domain="example.org",type="X509",to="Active"} 2`,
      `${METRIC_NAMES.authorityRotations}{trust_domain="example.org",type="JWT",to="Old"} 1`,
    ]);
  });

  it('counts reconcile errors by controller', async () => {
    const metrics = new Metrics();
    metrics.countReconcileError('trustdomain');
    metrics.countReconcileError('trustdomain');
    metrics.countReconcileError('identity');
    expect(await samples(metrics, METRIC_NAMES.reconcileErrors)).toEqual([
      `${METRIC_NAMES.reconcileErrors}{controller="trustdomain"} 2`,
      `${METRIC_NAMES.reconcileErrors}{controller="identity"} 1`,
    ]);
  });

  it('counts every reconcile by controller, failed or not', async () => {
    const metrics = new Metrics();
    metrics.countReconcile('RegistrationEntry');
    metrics.countReconcile('RegistrationEntry');
    metrics.countReconcile('TrustDomain');
    expect(await samples(metrics, METRIC_NAMES.reconciles)).toEqual([
      `${METRIC_NAMES.reconciles}{controller="RegistrationEntry"} 2`,
      `${METRIC_NAMES.reconciles}{controller="TrustDomain"} 1`,
    ]);
  });

  it("forgets a trust domain's authority and bundle series, keeping the others", async () => {
    const metrics = new Metrics();
    metrics.setAuthorities('gone.org', [
      { type: 'X509', id: 'aa', state: 'Active', notAfter: EXPIRY_A },
      { type: 'JWT', id: 'kid', state: 'Active', notAfter: EXPIRY_A },
    ]);
    metrics.setAuthorities('kept.org', [{ type: 'X509', id: 'bb', state: 'Active', notAfter: EXPIRY_B }]);
    metrics.setBundleSequence('gone.org', 5);
    metrics.setBundleSequence('kept.org', 2);

    metrics.forgetTrustDomain('gone.org');

    expect(await samples(metrics, METRIC_NAMES.authorityExpiry)).toEqual([
      expiry('kept.org', 'X509', 'bb', 'Active', EXPIRY_B),
    ]);
    expect(await samples(metrics, METRIC_NAMES.bundleSequence)).toEqual([
      `${METRIC_NAMES.bundleSequence}{trust_domain="kept.org"} 2`,
    ]);
  });

  it('reports a forgotten trust domain again when it comes back', async () => {
    const metrics = new Metrics();
    metrics.setAuthorities('back.org', [{ type: 'X509', id: 'aa', state: 'Active', notAfter: EXPIRY_A }]);
    metrics.forgetTrustDomain('back.org');
    metrics.setAuthorities('back.org', [{ type: 'X509', id: 'cc', state: 'Active', notAfter: EXPIRY_B }]);
    expect(await samples(metrics, METRIC_NAMES.authorityExpiry)).toEqual([
      expiry('back.org', 'X509', 'cc', 'Active', EXPIRY_B),
    ]);
  });

  it('gives each instance a registry of its own', async () => {
    const one = new Metrics();
    const two = new Metrics();
    one.setBundleSequence('example.org', 9);
    expect(await samples(two, METRIC_NAMES.bundleSequence)).toEqual([]);
  });
});
