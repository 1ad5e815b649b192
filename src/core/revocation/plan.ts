import {
  type KeyRevocation,
  keyRevocationSchema,
  keyRevocationStatusSchema,
} from '../../api/keyrevocation.ts';
import { signerNameOf, type TrustDomain } from '../../api/trustdomain.ts';
import { describeIssues } from '../../api/validation.ts';
import type { RevocationAuditRecord } from '../../observability/audit.ts';
import type { Journal } from '../authorities/model.ts';
import { assessRevocation, type RevocationContext, type RevocationRequest } from './assess.ts';
import type { PodCertificateRecord } from './pod-certificates.ts';
import { progress } from './progress.ts';
import { type EntrySigners, signerCounts } from './signers.ts';
import {
  blockedView,
  bundlePublished,
  foreignCopies,
  type KeyRevocationView,
  keyRevocationView,
  RevocationConditionReason,
  trustDomainProblem,
} from './status.ts';
import { canonicalId } from './target.ts';

/** A safety net while SVIDs are re-issued: Secret events normally bring the object back sooner. */
export const IN_PROGRESS_RECHECK_MS = 15_000;
export const NOT_READY_RECHECK_MS = 30_000;

/** What was last reported for an object: events, audit records and durations go out once each. */
export interface Reported {
  reason: string | undefined;
  validatedAt: string | undefined;
  reissuedAt: string | undefined;
  revokedAt: string | undefined;
}

/** The TrustDomain a KeyRevocation names, as the caches show it. */
export type TrustDomainView =
  | { state: 'missing' }
  | { state: 'notReady'; why: string }
  | { state: 'ready'; trustDomain: TrustDomain; journal: Journal; context: RevocationContext };

/** The reads a KeyRevocation needs, asked only when its answer needs them. */
export interface KeyRevocationSource {
  request(revocation: KeyRevocation): RevocationRequest;
  trustDomain(reference: string): TrustDomainView;
  /** The signers of the SVIDs in the Secrets of the TrustDomain object's entries. */
  svids(reference: string): Promise<readonly EntrySigners[]>;
  podCertificates(signerName: string): Promise<readonly PodCertificateRecord[]>;
}

export interface KeyRevocationObserved {
  /** The object as the cache holds it. */
  object: unknown;
  /** What was last reported for it: this controller's memo, or its status. */
  previous: Reported;
  source: KeyRevocationSource;
  now: Date;
}

export interface KeyRevocationPlan {
  /** Undefined when status stays as it is: a revoked key stays revoked whatever its TrustDomain does. */
  view: KeyRevocationView | undefined;
  /** Recorded before status is written: a crash in between repeats it rather than losing it. */
  audit: RevocationAuditRecord | undefined;
  /** Sent only when the status write changed something. */
  events: { type: 'Normal' | 'Warning'; reason: string; message: string }[];
  /** Seconds from creation to each step first shown, observed only when the status write changed something. */
  durations: { step: 'reissued' | 'revoked'; labels: { kind: string; reason: string }; seconds: number }[];
  /** What is reported once the status is written. */
  reported: Reported;
  requeueAfterMs: number | undefined;
}

/** What was last reported, read from the status when this controller has no memo of it. */
export function reportedIn(status: unknown): Reported {
  const parsed = keyRevocationStatusSchema.safeParse(status).data;
  return {
    reason: parsed?.conditions?.find((condition) => condition.type === 'Ready')?.reason,
    validatedAt: parsed?.validatedAt,
    reissuedAt: parsed?.reissuedAt,
    revokedAt: parsed?.revokedAt,
  };
}

/**
 * A KeyRevocation's status, events, audit record and next look: whether it is accepted or refused and
 * why, and how far the TrustDomain controller, which alone writes the journal, has carried it out.
 */
export async function planKeyRevocation(observed: KeyRevocationObserved): Promise<KeyRevocationPlan> {
  const { object, previous, source } = observed;
  const parsed = keyRevocationSchema.safeParse(object);
  if (!parsed.success) {
    const view = blockedView('Failed', RevocationConditionReason.InvalidSpec, describeIssues(parsed.error));
    return report(previous, view, undefined);
  }
  const revocation = parsed.data;
  const found = source.trustDomain(revocation.spec.trustDomainRef.name);
  if (found.state !== 'ready') {
    // A revocation is permanent: a TrustDomain deleted or unreadable later does not undo its outcome.
    if (previous.revokedAt !== undefined) return unchanged(previous);
    const reference = revocation.spec.trustDomainRef.name;
    const view =
      found.state === 'missing'
        ? blockedView(
            'Failed',
            RevocationConditionReason.TrustDomainNotFound,
            `TrustDomain ${reference} does not exist; nothing was changed`,
          )
        : blockedView(
            'Pending',
            RevocationConditionReason.TrustDomainNotReady,
            `TrustDomain ${reference} ${found.why}; the revocation waits for it`,
          );
    return { ...report(previous, view, { revocation }), requeueAfterMs: NOT_READY_RECHECK_MS };
  }
  const { view, own } = await recordedStatus(revocation, found, observed);
  const plan = report(previous, view, { revocation, trustDomain: found.trustDomain.spec.trustDomain });
  return {
    ...plan,
    durations: own ? durations(revocation, previous, view) : [],
    requeueAfterMs: view.phase === 'Tainted' || view.phase === 'Pending' ? IN_PROGRESS_RECHECK_MS : undefined,
  };
}

/** The view against the journal, with the SVIDs and pod certificates counted only while they matter. */
async function recordedStatus(
  revocation: KeyRevocation,
  found: Extract<TrustDomainView, { state: 'ready' }>,
  { source, now, previous }: KeyRevocationObserved,
): Promise<{ view: KeyRevocationView; own: boolean }> {
  const { trustDomain, journal, context } = found;
  const assessment = assessRevocation(source.request(revocation), context);
  const record = assessment.state === 'recorded' ? assessment.record : undefined;
  const ofKey = new Set(record?.taintedIds ?? []);
  const held = record ? await source.svids(revocation.spec.trustDomainRef.name) : [];
  const pods =
    record && record.reissuedAt === undefined ? await source.podCertificates(signerNameOf(trustDomain)) : [];
  const counts = signerCounts(held);
  const seen = record
    ? progress(
        record,
        { svidsBySigner: counts.reissuable, unwritableBySigner: counts.unwritable, podCertificates: pods },
        now,
      )
    : undefined;
  const names = (entries: readonly EntrySigners[]) => entries.map(({ entry }) => entry).sort();
  const signedByKey = held.filter(({ signers }) => signers.some((id) => ofKey.has(id)));
  const waiting =
    record?.reissuedAt === undefined ? signedByKey.filter((e) => !e.unwritable || seen?.waitsForTenants) : [];
  const view = keyRevocationView(assessment, {
    remaining: seen?.remaining ?? 0,
    outstandingPodCertificates: seen?.outstandingPodCertificates ?? 0,
    waitingOn: names(waiting),
    withdrawn: names(held.filter((entry) => entry.withdrawnSigners.some((id) => ofKey.has(id)))),
    unwritable: names(signedByKey.filter((entry) => entry.unwritable)),
    published: bundlePublished(trustDomain.status, journal.bundle.sequence),
    trustDomainProblem: trustDomainProblem(trustDomain.status),
    foreignCopies: foreignCopies(trustDomain.status),
    now,
    validatedAt: previous.validatedAt,
    progress: seen,
  });
  return { view, own: assessment.state === 'recorded' && assessment.own };
}

const unchanged = (previous: Reported): KeyRevocationPlan => ({
  view: undefined,
  audit: undefined,
  events: [],
  durations: [],
  reported: previous,
  requeueAfterMs: undefined,
});

/**
 * When the revocation is first accepted or refused, an audit record; then status, and when the Ready
 * reason is new, an event.
 */
function report(
  previous: Reported,
  view: KeyRevocationView,
  about: { revocation: KeyRevocation; trustDomain?: string } | undefined,
): KeyRevocationPlan {
  const failed = view.phase === 'Failed';
  const { reason, message } = view.condition;
  // The TrustDomain controller may taint before this one first looks: acceptance is recorded
  // when validatedAt first appears, whatever phase comes with it.
  const accepted = previous.validatedAt === undefined && view.fields.validatedAt !== undefined;
  const audited = about !== undefined && (accepted || (failed && previous.reason !== reason));
  const events: KeyRevocationPlan['events'] = [];
  if (accepted && reason !== RevocationConditionReason.Accepted) {
    events.push({
      type: 'Normal',
      reason: RevocationConditionReason.Accepted,
      message: `accepted: ${message}`,
    });
  }
  if (previous.reason !== reason) events.push({ type: failed ? 'Warning' : 'Normal', reason, message });
  return {
    view,
    audit: audited ? auditRecord(about, failed ? 'Refused' : 'Accepted', message) : undefined,
    events,
    durations: [],
    reported: {
      reason,
      validatedAt: view.fields.validatedAt ?? previous.validatedAt,
      reissuedAt: view.fields.reissuedAt ?? previous.reissuedAt,
      revokedAt: view.fields.revokedAt ?? previous.revokedAt,
    },
    requeueAfterMs: undefined,
  };
}

function auditRecord(
  { revocation, trustDomain }: { revocation: KeyRevocation; trustDomain?: string },
  step: 'Accepted' | 'Refused',
  detail: string,
): RevocationAuditRecord {
  const { kind, id } = revocation.spec.authority;
  return {
    step,
    trustDomainRef: revocation.spec.trustDomainRef.name,
    ...(trustDomain === undefined ? {} : { trustDomain }),
    kind,
    id: canonicalId(kind, id),
    keyRevocation: revocation.metadata.name,
    reason: revocation.spec.reason,
    detail,
  };
}

/** Each duration once: when status first shows the step done. */
function durations(
  revocation: KeyRevocation,
  previous: Reported,
  view: KeyRevocationView,
): KeyRevocationPlan['durations'] {
  const created = Date.parse(revocation.metadata.creationTimestamp ?? '');
  if (Number.isNaN(created)) return [];
  const labels = { kind: revocation.spec.authority.kind, reason: revocation.spec.reason };
  const { reissuedAt, revokedAt } = view.fields;
  return [
    ...(reissuedAt !== undefined && previous.reissuedAt === undefined
      ? [{ step: 'reissued' as const, labels, seconds: (Date.parse(reissuedAt) - created) / 1000 }]
      : []),
    ...(revokedAt !== undefined && previous.revokedAt === undefined
      ? [{ step: 'revoked' as const, labels, seconds: (Date.parse(revokedAt) - created) / 1000 }]
      : []),
  ];
}
