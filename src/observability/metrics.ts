import { Counter, Gauge, Registry } from 'prom-client';

/** Metric names, defined once: dashboards and alerts depend on them. */
export const METRIC_NAMES = {
  authorityExpiry: 'trustline_authority_expiry_timestamp_seconds',
  authorityRotations: 'trustline_authority_rotations_total',
  bundleSequence: 'trustline_bundle_sequence',
  reconcileErrors: 'trustline_reconcile_errors_total',
} as const;

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

  countReconcileError(controller: string): void {
    this.#reconcileErrors.inc({ controller });
  }
}
