import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ApiRequest } from '../kube/api-request.ts';

/** Metric names, defined once: dashboards and alerts depend on them. */
export const METRIC_NAMES = {
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
} as const;

/** Revocations take from seconds (grace 0) to hours (a long grace period). */
const REVOCATION_BUCKETS = [1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 21_600, 86_400];

export interface AuthorityGaugeEntry {
  type: string;
  id: string;
  state: string;
  notAfter: Date;
}

/** Trustline's metrics in a registry of their own, so tests and the operator never share one. */
export class Metrics {
  readonly registry = new Registry();
  readonly #authorityExpiry = new Gauge({
    name: METRIC_NAMES.authorityExpiry,
    help: 'When each signing authority expires, as a Unix timestamp.',
    labelNames: ['trust_domain', 'type', 'id', 'state'] as const,
    registers: [this.registry],
  });
  readonly #rotations = new Counter({
    name: METRIC_NAMES.authorityRotations,
    help: 'Authority state changes, by the state entered.',
    labelNames: ['trust_domain', 'type', 'to'] as const,
    registers: [this.registry],
  });
  readonly #bundleSequence = new Gauge({
    name: METRIC_NAMES.bundleSequence,
    help: 'The sequence number of the published trust bundle.',
    labelNames: ['trust_domain'] as const,
    registers: [this.registry],
  });
  readonly #reconcileErrors = new Counter({
    name: METRIC_NAMES.reconcileErrors,
    help: 'Reconciles that failed and were retried.',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  readonly #reconciles = new Counter({
    name: METRIC_NAMES.reconciles,
    help: "Reconciles run, failed or not: passes through each controller's queue.",
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  readonly #svidsIssued = new Counter({
    name: METRIC_NAMES.svidsIssued,
    help: 'SVID Secrets written with a newly signed X.509-SVID or JWT-SVID, by the reason for signing.',
    labelNames: ['type', 'reason'] as const,
    registers: [this.registry],
  });
  readonly #issuance = new Histogram({
    name: METRIC_NAMES.svidIssuance,
    help: 'From the start of a reconcile that signs to its Secret being written.',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly #podCertificateRequests = new Counter({
    name: METRIC_NAMES.podCertificateRequests,
    help: 'PodCertificateRequests Trustline answered, by outcome: Issued, Denied or Failed.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly #podCertificateIssuance = new Histogram({
    name: METRIC_NAMES.podCertificateIssuance,
    help: "From a PodCertificateRequest's creation to its certificate in status.",
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly #renewalFailures = new Counter({
    name: METRIC_NAMES.svidRenewalFailures,
    help: 'Reconciles of RegistrationEntries that failed and were retried.',
    registers: [this.registry],
  });
  readonly #revocationReissue = this.#revocationHistogram(
    METRIC_NAMES.revocationReissue,
    "From a KeyRevocation's creation to every SVID signed by its target re-issued.",
  );
  readonly #revocationRevoked = this.#revocationHistogram(
    METRIC_NAMES.revocationRevoked,
    "From a KeyRevocation's creation to its target gone from every bundle, its key destroyed.",
  );
  readonly #leader = new Gauge({
    name: METRIC_NAMES.leader,
    help: '1 while this replica holds the leader Lease and writes; 0 while it stands by.',
    registers: [this.registry],
  });
  readonly #apiRequests = new Counter({
    name: METRIC_NAMES.apiRequests,
    help: 'Requests sent to the Kubernetes API, by verb, resource (with subresource) and status code class (2xx, 4xx, 5xx; 429, throttled by API Priority and Fairness, apart; error when no answer came).',
    labelNames: ['verb', 'resource', 'code'] as const,
    registers: [this.registry],
  });
  /** Each entry's trust domain and current X.509-SVID notAfter, for the soonest-expiry gauge. */
  readonly #svidExpiries = new Map<string, { trustDomain: string; notAfter: number }>();

  constructor(now: () => Date = () => new Date()) {
    const expiries = this.#svidExpiries;
    new Gauge({
      name: METRIC_NAMES.svidSoonestExpiry,
      help: 'Seconds until the soonest-expiring X.509-SVID Trustline keeps expires, per trust domain.',
      labelNames: ['trust_domain'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        const soonest = new Map<string, number>();
        for (const { trustDomain, notAfter } of expiries.values()) {
          soonest.set(trustDomain, Math.min(notAfter, soonest.get(trustDomain) ?? notAfter));
        }
        for (const [trustDomain, notAfter] of soonest) {
          this.set({ trust_domain: trustDomain }, (notAfter - now().getTime()) / 1000);
        }
      },
    });
  }

  #revocationHistogram(name: string, help: string) {
    return new Histogram({
      name,
      help,
      labelNames: ['kind', 'reason'] as const,
      buckets: REVOCATION_BUCKETS,
      registers: [this.registry],
    });
  }

  /**
   * The standard process and Node.js metrics (process_cpu_seconds_total, nodejs_eventloop_lag_seconds…),
   * for the operator's own registry only: tests run many registries in one process.
   */
  collectProcessMetrics(): void {
    collectDefaultMetrics({ register: this.registry });
  }

  setLeader(leading: boolean): void {
    this.#leader.set(leading ? 1 : 0);
  }

  countIssued(type: 'x509' | 'jwt', reason: string, seconds: number): void {
    this.#svidsIssued.inc({ type, reason });
    if (type === 'x509') this.#issuance.observe(seconds);
  }

  countPodCertificate(
    outcome: 'Issued' | 'Denied' | 'Failed',
    secondsSinceRequest: number | undefined,
  ): void {
    this.#podCertificateRequests.inc({ outcome });
    if (secondsSinceRequest !== undefined) this.#podCertificateIssuance.observe(secondsSinceRequest);
  }

  setSvidExpiry(entry: string, svid: { trustDomain: string; notAfter: Date } | undefined): void {
    if (svid === undefined) this.#svidExpiries.delete(entry);
    else this.#svidExpiries.set(entry, { trustDomain: svid.trustDomain, notAfter: svid.notAfter.getTime() });
  }

  countRenewalFailure(): void {
    this.#renewalFailures.inc();
  }

  /** The label sets last set per trust domain, so authorities that are gone stop being reported. */
  readonly #reported = new Map<string, { type: string; id: string; state: string }[]>();

  setAuthorities(trustDomain: string, authorities: readonly AuthorityGaugeEntry[]): void {
    for (const labels of this.#reported.get(trustDomain) ?? []) {
      this.#authorityExpiry.remove({ trust_domain: trustDomain, ...labels });
    }
    const reported = authorities.map(({ type, id, state }) => ({ type, id, state }));
    for (const { type, id, state, notAfter } of authorities) {
      this.#authorityExpiry.set({ trust_domain: trustDomain, type, id, state }, notAfter.getTime() / 1000);
    }
    this.#reported.set(trustDomain, reported);
  }

  forgetTrustDomain(trustDomain: string): void {
    this.setAuthorities(trustDomain, []);
    this.#reported.delete(trustDomain);
    this.#bundleSequence.remove({ trust_domain: trustDomain });
  }

  countRotation(trustDomain: string, type: string, to: string): void {
    this.#rotations.inc({ trust_domain: trustDomain, type, to });
  }

  setBundleSequence(trustDomain: string, sequence: number): void {
    this.#bundleSequence.set({ trust_domain: trustDomain }, sequence);
  }

  observeRevocation(
    step: 'reissued' | 'revoked',
    labels: { kind: string; reason: string },
    seconds: number,
  ): void {
    (step === 'reissued' ? this.#revocationReissue : this.#revocationRevoked).observe(labels, seconds);
  }

  countApiRequest({ verb, resource, code }: ApiRequest): void {
    this.#apiRequests.inc({ verb, resource, code });
  }

  countReconcile(controller: string): void {
    this.#reconciles.inc({ controller });
  }

  countReconcileError(controller: string): void {
    this.#reconcileErrors.inc({ controller });
  }
}
