import { registrationEntryKind, type SecretModeEntry } from '../../api/registrationentry.ts';
import type { TrustDomain } from '../../api/trustdomain.ts';
import { JournalError } from '../../core/authorities/journal-codec.ts';
import { activeAuthority, isExpired } from '../../core/authorities/lifecycle.ts';
import type { Journal } from '../../core/authorities/model.ts';
import { type IssuancePlan, planIssuance } from '../../core/entry/issuance-plan.ts';
import { authoritySigner } from '../../core/entry/signer.ts';
import { desiredIdentity, isRefusal } from '../../core/svid/desired-identity.ts';
import { EntryReason } from '../../core/svid/reasons.ts';
import type { KubeObject } from '../../kube/informer.ts';
import type { ReconcileResult } from '../../kube/workqueue.ts';
import { issuanceRefusal } from '../signing-context.ts';
import { claimRefusal } from './claim.ts';
import type { EntryControllerOptions } from './options.ts';
import { type EntryReporter, entryRef, involvedObject, RECHECK_MS } from './refusals.ts';
import { isUnwritable, type SecretState, type SvidSecrets } from './svid-secrets.ts';

const PENDING_RECHECK_MS = 2_000;

export interface CachedTrustDomain {
  object: KubeObject;
  trustDomain: TrustDomain;
}

const publishable = (journal: Journal, type: 'X509' | 'JWT', now: Date) =>
  journal.authorities
    .filter(
      (authority) => authority.type === type && authority.state !== 'Revoked' && !isExpired(authority, now),
    )
    .map((authority) => authority.id);

/**
 * Keeps a Secret-mode entry's Secret sound: refuses what may not be issued, asks the planner what to
 * sign and write, and applies the plan. Renewal is a timer per entry (the queue's delayed add), not a
 * periodic pass over all entries.
 */
export class SecretEntryIssuer {
  readonly #options: EntryControllerOptions;
  readonly #secrets: SvidSecrets;
  readonly #reporter: EntryReporter;
  readonly #random: () => number;
  /** Per entry: the inputs of its last sound reconcile, and when it must look again regardless. */
  readonly #settled = new Map<string, { fingerprint: string; wakeAt: number }>();

  constructor(options: EntryControllerOptions, secrets: SvidSecrets, reporter: EntryReporter) {
    this.#options = options;
    this.#secrets = secrets;
    this.#reporter = reporter;
    this.#random = options.random ?? Math.random;
  }

  forget(key: string): void {
    this.#settled.delete(key);
  }

  async reconcile(
    object: KubeObject,
    entry: SecretModeEntry,
    { object: trustDomainObject, trustDomain }: CachedTrustDomain,
    key: string,
  ): Promise<ReconcileResult> {
    const { journals, now: clock } = this.#options;
    const reporter = this.#reporter;
    const ref = entryRef(entry);
    if (!this.#secrets.allowed(ref.namespace)) {
      await reporter.refuse(
        object,
        EntryReason.SecretNamespaceNotAllowed,
        this.#options.secretModeOff
          ? 'Secret mode is off (TRUSTLINE_SVID_SECRETS=false): use spec.workloadSelector, and podCertificate volumes in the pods'
          : `Trustline may not write Secrets in namespace ${ref.namespace}; it writes them only in the namespaces listed in TRUSTLINE_SECRET_NAMESPACES`,
      );
      return undefined;
    }
    const refusal = issuanceRefusal(this.#options, ref.namespace, trustDomain);
    if (refusal) {
      await reporter.refuse(object, refusal.reason, refusal.message);
      return undefined;
    }
    const claim = await claimRefusal(this.#options, reporter, object, entry, trustDomain);
    if (claim) return claim.result;
    const loaded = journals.get(trustDomain.spec.trustDomain);
    const journal = loaded instanceof JournalError ? undefined : loaded;
    const activeX509 = journal && activeAuthority(journal, 'X509');
    const activeJwt = journal && activeAuthority(journal, 'JWT');
    if (!journal || !activeX509 || !activeJwt || !journal.bundle.pem) {
      // A revoked signer no successor replaced yet: issuance stopped on purpose, not still starting.
      const stopped = journal?.revocations.some((r) => r.rotated && r.replacedBy === undefined);
      const message = stopped
        ? `issuance is stopped: TrustDomain ${trustDomain.metadata.name} has no authority to sign with while a tainted one is revoked (see its status)`
        : `TrustDomain ${trustDomain.metadata.name} has no active authorities yet${loaded instanceof JournalError ? `: ${loaded.message}` : ''}`;
      await reporter.refuse(object, reporter.notReadyReason(entry, journal), message);
      return { requeueAfterMs: RECHECK_MS };
    }
    const desired = desiredIdentity(entry.spec, trustDomain.spec);
    if (isRefusal(desired)) {
      await reporter.refuse(object, desired.refused, desired.message);
      return undefined;
    }
    this.#options.signers.forgetUnfit(journal);
    const now = clock();
    const state = this.#secrets.state(ref, entry.spec.secret.name);
    if (state.kind === 'foreign') return reporter.conflict(object, entry);
    // The watch event of the write will bring the entry back, since this pass did not go on from it;
    // the delay is a safety net.
    if (state.kind === 'pending') {
      this.#options.echoes?.forget(
        registrationEntryKind.kind,
        'svidSecrets',
        `${ref.namespace}/${entry.spec.secret.name}`,
      );
      return { requeueAfterMs: PENDING_RECHECK_MS };
    }
    // Nothing that decides issuance changed since the last look found the Secret sound: skip the
    // planner (it parses certificates and keys) until the renewal timer is due.
    const fingerprint = JSON.stringify([
      entry.metadata.generation,
      trustDomainObject.metadata.generation,
      this.#options.namespaces.get(ref.namespace)?.metadata.resourceVersion,
      journals.version(trustDomain.spec.trustDomain),
      state.kind === 'owned' ? state.resourceVersion : '',
    ]);
    const settled = this.#settled.get(key);
    if (settled?.fingerprint === fingerprint && now.getTime() < settled.wakeAt) {
      return { requeueAfterMs: settled.wakeAt - now.getTime() };
    }
    const started = process.hrtime.bigint();
    const { signers } = this.#options;
    const plan = await planIssuance(
      {
        entry,
        input: {
          now,
          spec: desired.identity,
          secret: state.kind === 'owned' ? state.observed : undefined,
          activeAuthorityIds: { x509: activeX509.id, jwt: activeJwt.id },
          publishableAuthorityIds: {
            x509: publishable(journal, 'X509', now),
            jwt: publishable(journal, 'JWT', now),
          },
          taintedAuthorityIds: journal.authorities.filter((a) => a.state === 'Tainted').map((a) => a.id),
          renewalFraction: trustDomain.spec.svid.renewalPercentage / 100,
        },
        capped: desired.capped,
        bundlePem: journal.bundle.pem,
        trustDomain: trustDomain.spec.trustDomain,
        jwtIssuer: trustDomain.spec.jwt.issuer,
        jwtAlgorithm: activeJwt.algorithm,
        random: this.#random,
      },
      authoritySigner(signers.x509(activeX509), signers.jwt(activeJwt, trustDomain.spec.trustDomain)),
    );
    const result = await this.#apply(object, entry, state, plan, started);
    if (result !== 'applied') return result;
    this.#settled.set(key, { fingerprint, wakeAt: plan.wakeAt.getTime() });
    return { requeueAfterMs: Math.max(0, plan.wakeAt.getTime() - clock().getTime()) };
  }

  /** Audits, writes the Secret, then tells: counts, events, expiry and the status, written once. */
  async #apply(
    object: KubeObject,
    entry: SecretModeEntry,
    state: SecretState,
    plan: IssuancePlan,
    started: bigint,
  ): Promise<ReconcileResult | 'applied'> {
    const { audit, metrics, events } = this.#options;
    const ref = entryRef(entry);
    // Audited as signed, before the write: a signature exists even if the Secret never does.
    for (const record of plan.audit) audit.signed(record);
    if (plan.write) {
      const written = await this.#secrets.write(ref, state, plan.write).catch((error: unknown) => {
        if (isUnwritable(error)) return error;
        throw error;
      });
      if (written === 'foreign') return this.#reporter.conflict(object, entry);
      if (written instanceof Error) {
        await this.#reporter.refuse(
          object,
          EntryReason.SecretUnwritable,
          `Secret ${ref.namespace}/${entry.spec.secret.name} cannot be written (${written.message}); it keeps what it holds, which a revocation names and does not wait for: make it writable (an immutable Secret must be deleted)`,
        );
        return { requeueAfterMs: RECHECK_MS };
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      for (const { type, cause } of plan.issued) metrics.countIssued(type, cause, seconds);
    }
    for (const event of plan.events) {
      if (event.routine) await events.recordRoutine(involvedObject(entry), event.reason, event.message);
      else await this.#reporter.event(entry, event.type, event.reason, event.message);
    }
    metrics.setSvidExpiry(`${ref.namespace}/${ref.name}`, plan.expiry);
    await this.#reporter.report(object, plan.condition, plan.status);
    return 'applied';
  }
}
