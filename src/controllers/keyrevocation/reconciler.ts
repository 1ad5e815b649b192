import { API_VERSION } from '../../api/group.ts';
import {
  type KeyRevocation,
  keyRevocationKind,
  keyRevocationSchema,
  keyRevocationStatusSchema,
} from '../../api/keyrevocation.ts';
import { signerNameOf, trustDomainSchema } from '../../api/trustdomain.ts';
import { describeIssues } from '../../api/validation.ts';
import { JournalError } from '../../core/authorities/journal-codec.ts';
import { assessRevocation, type RevocationAssessment } from '../../core/revocation/assess.ts';
import { outstandingPodCertificates } from '../../core/revocation/pod-certificates.ts';
import {
  blockedView,
  bundlePublished,
  foreignCopies,
  type KeyRevocationView,
  keyRevocationView,
  RevocationConditionReason,
  trustDomainProblem,
} from '../../core/revocation/status.ts';
import { canonicalId } from '../../core/revocation/target.ts';
import type { EventRecorder } from '../../kube/events.ts';
import type { Informer, KubeObject } from '../../kube/informer.ts';
import { trustlineResource } from '../../kube/resources.ts';
import type { RestClient } from '../../kube/rest.ts';
import type { ReconcileResult } from '../../kube/workqueue.ts';
import type { AuditLog } from '../../observability/audit.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { JournalCache } from '../journal-cache.ts';
import { writeStatus } from '../status-writer.ts';
import { type PodCertificateInventory, svidSignersOf } from '../svid-inventory.ts';
import { readUpstream } from '../trustdomain/upstream-secret.ts';
import { requestOf, revocationContext } from './context.ts';

export interface KeyRevocationControllerOptions {
  client: RestClient;
  keyRevocations: Informer;
  trustDomains: Informer;
  registrationEntries: Informer;
  /** Secrets in the operator's namespace: upstream CAs. */
  secrets: Informer;
  svidSecrets: (namespace: string) => Informer | undefined;
  /** Certificates issued to PodCertificateRequests, where the cluster serves them. */
  podCertificates?: PodCertificateInventory | undefined;
  journals: JournalCache;
  operatorNamespace: string;
  now: () => Date;
  metrics: Metrics;
  audit: AuditLog;
  events: EventRecorder;
}

const resource = trustlineResource(keyRevocationKind);
/** A safety net while SVIDs are re-issued: Secret events normally bring the object back sooner. */
const IN_PROGRESS_RECHECK_MS = 15_000;
const NOT_READY_RECHECK_MS = 30_000;

/** What was last reported for an object: events, audit records and durations go out once each. */
interface Reported {
  reason: string | undefined;
  validatedAt: string | undefined;
  reissuedAt: string | undefined;
  revokedAt: string | undefined;
}

interface Assessed {
  assessment: RevocationAssessment;
  /** The SPIFFE trust domain name. */
  trustDomain: string;
  remaining: number;
  outstandingPodCertificates: number;
  waitingOn: string[];
  withdrawn: string[];
  unwritable: string[];
  published: boolean;
  trustDomainProblem: string | undefined;
  foreignCopies: string | undefined;
}

/**
 * Reports a KeyRevocation: whether it is accepted or refused and why, and how far the TrustDomain
 * controller, which alone writes the journal, has carried it out. It changes no key itself.
 */
export class KeyRevocationReconciler {
  readonly #options: KeyRevocationControllerOptions;
  /**
   * By object key, for the uid it was written for. The cache may not show this controller's last status write yet; without this a quick
   * second reconcile would repeat the events, audit records and duration samples.
   */
  readonly #reported = new Map<string, Reported & { uid: string | undefined }>();

  constructor(options: KeyRevocationControllerOptions) {
    this.#options = options;
  }

  readonly reconcile = async (key: string): Promise<ReconcileResult> => {
    const object = this.#options.keyRevocations.get(key);
    if (!object) {
      this.#reported.delete(key);
      return undefined;
    }
    const parsed = keyRevocationSchema.safeParse(object);
    if (!parsed.success) {
      await this.#report(
        object,
        blockedView('Failed', RevocationConditionReason.InvalidSpec, describeIssues(parsed.error)),
      );
      return undefined;
    }
    const revocation = parsed.data;
    const previous = this.#previous(object);
    const assessed = await this.#assess(revocation);
    if ('view' in assessed) {
      // A revocation is permanent: a TrustDomain deleted or unreadable later does not undo its outcome.
      if (previous.revokedAt !== undefined) return undefined;
      await this.#report(object, assessed.view, revocation);
      return { requeueAfterMs: NOT_READY_RECHECK_MS };
    }
    const { assessment } = assessed;
    const view = keyRevocationView(assessment, {
      remaining: assessed.remaining,
      outstandingPodCertificates: assessed.outstandingPodCertificates,
      waitingOn: assessed.waitingOn,
      withdrawn: assessed.withdrawn,
      unwritable: assessed.unwritable,
      published: assessed.published,
      trustDomainProblem: assessed.trustDomainProblem,
      foreignCopies: assessed.foreignCopies,
      now: this.#options.now(),
      validatedAt: previous.validatedAt,
    });
    const changed = await this.#report(object, view, revocation, assessed);
    if (changed && assessment.state === 'recorded' && assessment.own) {
      this.#observeDurations(revocation, previous, view);
    }
    return view.phase === 'Tainted' || view.phase === 'Pending'
      ? { requeueAfterMs: IN_PROGRESS_RECHECK_MS }
      : undefined;
  };

  #previous(object: KubeObject): Reported {
    const memo = this.#reported.get(object.metadata.name);
    if (memo && memo.uid === object.metadata.uid) return memo;
    const status = keyRevocationStatusSchema.safeParse(object.status).data;
    return {
      reason: status?.conditions?.find((condition) => condition.type === 'Ready')?.reason,
      validatedAt: status?.validatedAt,
      reissuedAt: status?.reissuedAt,
      revokedAt: status?.revokedAt,
    };
  }

  /** The assessment against the trust domain's journal, or the view that says why there is none yet. */
  async #assess(revocation: KeyRevocation): Promise<Assessed | { view: KeyRevocationView }> {
    const { trustDomains, journals, secrets, operatorNamespace, now } = this.#options;
    const reference = revocation.spec.trustDomainRef.name;
    const object = trustDomains.get(reference);
    if (!object) {
      return {
        view: blockedView(
          'Failed',
          RevocationConditionReason.TrustDomainNotFound,
          `TrustDomain ${reference} does not exist; nothing was changed`,
        ),
      };
    }
    const notReady = (why: string) => ({
      view: blockedView(
        'Pending',
        RevocationConditionReason.TrustDomainNotReady,
        `TrustDomain ${reference} ${why}; the revocation waits for it`,
      ),
    });
    const parsed = trustDomainSchema.safeParse(object);
    if (!parsed.success) return notReady('has an invalid spec');
    const trustDomain = parsed.data;
    const journal = journals.get(trustDomain.spec.trustDomain);
    if (journal === undefined) return notReady('has no keys yet');
    if (journal instanceof JournalError) return notReady(`has an unreadable journal: ${journal.message}`);
    // An unusable upstream CA does not hold a revocation up: the journal knows the roots it chains to.
    const read = readUpstream(trustDomain, secrets, operatorNamespace, now());
    const upstream = read instanceof Error ? undefined : read;
    const assessment = assessRevocation(
      requestOf(revocation),
      revocationContext({ trustDomain, journal, upstream, operatorNamespace, trustDomains, journals }),
    );
    const record = assessment.state === 'recorded' ? assessment.record : undefined;
    const ofKey = new Set(record?.taintedIds ?? []);
    const held = record
      ? await svidSignersOf(this.#options.registrationEntries, this.#options.svidSecrets, reference)
      : [];
    const names = (found: typeof held) => found.map(({ entry }) => entry).sort();
    const signedByKey = held.filter(({ signers }) => signers.some((id) => ofKey.has(id)));
    const unwritable = signedByKey.filter((entry) => entry.unwritable);
    const withdrawn = held.filter((entry) => entry.withdrawnSigners.some((id) => ofKey.has(id)));
    const tainted = record?.reissuedAt === undefined ? ofKey : undefined;
    // KeyCompromise waits for no tenant: a Secret that cannot be written is named, not waited for.
    const waiting = tainted
      ? signedByKey.filter((entry) => !entry.unwritable || record?.reason !== 'KeyCompromise')
      : [];
    const pods = tainted
      ? outstandingPodCertificates(
          (await this.#options.podCertificates?.of(signerNameOf(trustDomain))) ?? [],
          [...tainted],
          now(),
        ).length
      : 0;
    const waitsForPods = assessment.state === 'recorded' && assessment.record.reason !== 'KeyCompromise';
    return {
      assessment,
      trustDomain: trustDomain.spec.trustDomain,
      remaining:
        waiting.reduce((sum, { signers }) => sum + signers.filter((id) => tainted?.has(id)).length, 0) +
        (waitsForPods ? pods : 0),
      outstandingPodCertificates: pods,
      waitingOn: names(waiting),
      withdrawn: names(withdrawn),
      unwritable: names(unwritable),
      published: bundlePublished(trustDomain.status, journal.bundle.sequence),
      trustDomainProblem: trustDomainProblem(trustDomain.status),
      foreignCopies: foreignCopies(trustDomain.status),
    };
  }

  /**
   * When the revocation is first accepted or refused, an audit record; then status, and when the Ready
   * reason is new, an event. Returns whether status changed.
   */
  async #report(
    object: KubeObject,
    view: KeyRevocationView,
    revocation?: KeyRevocation,
    assessed?: Assessed,
  ): Promise<boolean> {
    const { client, now, events, audit } = this.#options;
    const previous = this.#previous(object);
    const failed = view.phase === 'Failed';
    // The TrustDomain controller may taint before this one first looks: acceptance is recorded
    // when validatedAt first appears, whatever phase comes with it.
    const accepted = previous.validatedAt === undefined && view.fields.validatedAt !== undefined;
    // Audited before the status that marks the step is written: a crash in between repeats the
    // record at the next reconcile rather than losing it.
    if (revocation && (accepted || (failed && previous.reason !== view.condition.reason))) {
      const { kind, id } = revocation.spec.authority;
      audit.revocation({
        step: failed ? 'Refused' : 'Accepted',
        trustDomainRef: revocation.spec.trustDomainRef.name,
        ...(assessed === undefined ? {} : { trustDomain: assessed.trustDomain }),
        kind,
        id: canonicalId(kind, id),
        keyRevocation: revocation.metadata.name,
        reason: revocation.spec.reason,
        detail: view.condition.message,
      });
    }
    const changed = await writeStatus(
      client,
      resource,
      object,
      { phase: view.phase, ...view.fields },
      [view.condition],
      now(),
    );
    const { reason, message } = view.condition;
    this.#reported.set(object.metadata.name, {
      uid: object.metadata.uid,
      reason,
      validatedAt: view.fields.validatedAt ?? previous.validatedAt,
      reissuedAt: view.fields.reissuedAt ?? previous.reissuedAt,
      revokedAt: view.fields.revokedAt ?? previous.revokedAt,
    });
    if (!changed) return false;
    const involved = { apiVersion: API_VERSION, kind: keyRevocationKind.kind, metadata: object.metadata };
    if (accepted && reason !== RevocationConditionReason.Accepted) {
      await events.record(involved, 'Normal', RevocationConditionReason.Accepted, `accepted: ${message}`);
    }
    if (previous.reason !== reason)
      await events.record(involved, failed ? 'Warning' : 'Normal', reason, message);
    return true;
  }

  /** Each duration once: when status first shows the step done for this object. */
  #observeDurations(revocation: KeyRevocation, previous: Reported, view: KeyRevocationView): void {
    const created = Date.parse(revocation.metadata.creationTimestamp ?? '');
    if (Number.isNaN(created)) return;
    const labels = { kind: revocation.spec.authority.kind, reason: revocation.spec.reason };
    const { reissuedAt, revokedAt } = view.fields;
    if (reissuedAt !== undefined && previous.reissuedAt === undefined) {
      this.#options.metrics.observeRevocation('reissued', labels, (Date.parse(reissuedAt) - created) / 1000);
    }
    if (revokedAt !== undefined && previous.revokedAt === undefined) {
      this.#options.metrics.observeRevocation('revoked', labels, (Date.parse(revokedAt) - created) / 1000);
    }
  }
}
