import type { Logger } from 'pino';
import { API_VERSION } from '../../api/group.ts';
import {
  type KeyRevocation,
  keyRevocationKind,
  keyRevocationSchema,
  keyRevocationStatusSchema,
} from '../../api/keyrevocation.ts';
import { type TrustDomain, trustDomainSchema } from '../../api/trustdomain.ts';
import { describeIssues } from '../../api/validation.ts';
import { JournalError } from '../../core/authorities/journal-codec.ts';
import type { Journal } from '../../core/authorities/model.ts';
import { assessRevocation, type RevocationAssessment } from '../../core/revocation/assess.ts';
import { remainingSVIDs } from '../../core/revocation/progress.ts';
import {
  blockedView,
  type KeyRevocationView,
  keyRevocationView,
  RevocationConditionReason,
} from '../../core/revocation/status.ts';
import { BUNDLE_PUBLISHED_CONDITION, TrustDomainReason } from '../../core/trustdomain/reasons.ts';
import type { EventRecorder } from '../../kube/events.ts';
import type { Informer, KubeObject } from '../../kube/informer.ts';
import { trustlineResource } from '../../kube/resources.ts';
import type { RestClient } from '../../kube/rest.ts';
import type { ReconcileResult } from '../../kube/workqueue.ts';
import type { AuditLog } from '../../observability/audit.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { JournalCache } from '../journal-cache.ts';
import { writeStatus } from '../status-writer.ts';
import { svidsBySigner } from '../svid-inventory.ts';
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
  journals: JournalCache;
  operatorNamespace: string;
  log: Logger;
  now: () => Date;
  metrics: Metrics;
  audit: AuditLog;
  events: EventRecorder;
}

const resource = trustlineResource(keyRevocationKind);

/**
 * Whether the TrustDomain reports the journal's bundle as published: its status is written after the
 * ConfigMaps, so a sequence that caught up with the journal's means every copy holds that bundle.
 */
function bundlePublished(trustDomain: TrustDomain, journal: Journal): boolean {
  const status = trustDomain.status;
  const condition = status?.conditions?.find((c) => c.type === BUNDLE_PUBLISHED_CONDITION);
  return (
    (status?.bundleSequence ?? 0) >= journal.bundle.sequence &&
    condition?.reason !== TrustDomainReason.PublishFailed
  );
}
/** A safety net while SVIDs are re-issued: Secret events normally bring the object back sooner. */
const IN_PROGRESS_RECHECK_MS = 15_000;
const NOT_READY_RECHECK_MS = 30_000;

/**
 * Reports a KeyRevocation: whether it is accepted or refused and why, and how far the TrustDomain
 * controller, which alone writes the journal, has carried it out. It changes no key itself.
 */
export class KeyRevocationReconciler {
  readonly #options: KeyRevocationControllerOptions;

  constructor(options: KeyRevocationControllerOptions) {
    this.#options = options;
  }

  readonly reconcile = async (key: string): Promise<ReconcileResult> => {
    const object = this.#options.keyRevocations.get(key);
    if (!object) return undefined;
    const parsed = keyRevocationSchema.safeParse(object);
    if (!parsed.success) {
      await this.#report(
        object,
        blockedView('Failed', RevocationConditionReason.InvalidSpec, describeIssues(parsed.error)),
      );
      return undefined;
    }
    const revocation = parsed.data;
    const assessed = this.#assess(revocation);
    if ('view' in assessed) {
      await this.#report(object, assessed.view, revocation);
      return { requeueAfterMs: NOT_READY_RECHECK_MS };
    }
    const { assessment, remaining, published } = assessed;
    const previous = keyRevocationStatusSchema.safeParse(object.status).data;
    const view = keyRevocationView(assessment, {
      remaining,
      published,
      now: this.#options.now(),
      validatedAt: previous?.validatedAt,
    });
    await this.#report(object, view, revocation);
    if (assessment.state === 'recorded' && assessment.own) this.#observeDurations(revocation, previous, view);
    return view.phase === 'Tainted' ? { requeueAfterMs: IN_PROGRESS_RECHECK_MS } : undefined;
  };

  /** The assessment against the trust domain's journal, or the view that says why there is none yet. */
  #assess(
    revocation: KeyRevocation,
  ):
    | { assessment: RevocationAssessment; remaining: number; published: boolean }
    | { view: KeyRevocationView } {
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
    const trustDomain = trustDomainSchema.safeParse(object);
    if (!trustDomain.success) return notReady('has an invalid spec');
    const journal = journals.get(trustDomain.data.spec.trustDomain);
    if (journal === undefined) return notReady('has no keys yet');
    if (journal instanceof JournalError) return notReady(`has an unreadable journal: ${journal.message}`);
    const upstream = readUpstream(trustDomain.data, secrets, operatorNamespace, now());
    if (upstream instanceof Error) return notReady(`cannot use its upstream CA: ${upstream.message}`);
    const assessment = assessRevocation(
      requestOf(revocation),
      revocationContext({
        trustDomain: trustDomain.data,
        journal,
        upstream,
        operatorNamespace,
        trustDomains,
        journals,
      }),
    );
    const counting = assessment.state === 'recorded' && assessment.record.reissuedAt === undefined;
    const remaining = counting
      ? remainingSVIDs(
          assessment.record.taintedIds,
          svidsBySigner(this.#options.registrationEntries, this.#options.svidSecrets, reference),
        )
      : 0;
    return { assessment, remaining, published: bundlePublished(trustDomain.data, journal) };
  }

  /** Writes status; on a new Ready reason, an event and, for acceptance or refusal, an audit record. */
  async #report(object: KubeObject, view: KeyRevocationView, revocation?: KeyRevocation): Promise<void> {
    const { client, now, events, audit } = this.#options;
    const status = keyRevocationStatusSchema.safeParse(object.status).data;
    const previous = {
      reason: status?.conditions?.find((condition) => condition.type === 'Ready')?.reason,
      validatedAt: status?.validatedAt,
    };
    const changed = await writeStatus(
      client,
      resource,
      object,
      { phase: view.phase, ...view.fields },
      [view.condition],
      now(),
    );
    if (!changed) return;
    const { reason, message } = view.condition;
    const failed = view.phase === 'Failed';
    const involved = { apiVersion: API_VERSION, kind: keyRevocationKind.kind, metadata: object.metadata };
    // The TrustDomain controller may taint before this one first looks: acceptance is recorded
    // when validatedAt first appears, whatever phase comes with it.
    const accepted = previous.validatedAt === undefined && view.fields.validatedAt !== undefined;
    if (accepted && reason !== RevocationConditionReason.Accepted) {
      await events.record(involved, 'Normal', RevocationConditionReason.Accepted, `accepted: ${message}`);
    }
    if (previous.reason !== reason)
      await events.record(involved, failed ? 'Warning' : 'Normal', reason, message);
    if (revocation && (accepted || (failed && previous.reason !== reason))) {
      audit.revocation({
        step: failed ? 'Refused' : 'Accepted',
        trustDomain: revocation.spec.trustDomainRef.name,
        kind: revocation.spec.authority.kind,
        id: revocation.spec.authority.id,
        keyRevocation: revocation.metadata.name,
        reason: revocation.spec.reason,
        detail: message,
      });
    }
  }

  /** Each duration once: when status first shows the step done for this object. */
  #observeDurations(
    revocation: KeyRevocation,
    previous: { reissuedAt?: string | undefined; revokedAt?: string | undefined } | undefined,
    view: KeyRevocationView,
  ): void {
    const created = Date.parse(revocation.metadata.creationTimestamp ?? '');
    if (Number.isNaN(created)) return;
    const labels = { kind: revocation.spec.authority.kind, reason: revocation.spec.reason };
    const { reissuedAt, revokedAt } = view.fields;
    if (reissuedAt !== undefined && previous?.reissuedAt === undefined) {
      this.#options.metrics.observeRevocation('reissued', labels, (Date.parse(reissuedAt) - created) / 1000);
    }
    if (revokedAt !== undefined && previous?.revokedAt === undefined) {
      this.#options.metrics.observeRevocation('revoked', labels, (Date.parse(revokedAt) - created) / 1000);
    }
  }
}
