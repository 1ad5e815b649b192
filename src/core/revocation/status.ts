import type { z } from 'zod';
import { type KeyRevocationStatus, MAX_NAMED_SVIDS } from '../../api/keyrevocation.ts';
import type { trustDomainStatusSchema } from '../../api/trustdomain.ts';
import type { Journal, RevocationRecord } from '../authorities/model.ts';
import { type DesiredCondition, readyCondition as ready } from '../conditions.ts';
import { BUNDLE_PUBLISHED_CONDITION, TrustDomainReason } from '../trustdomain/reasons.ts';
import type { RevocationAssessment } from './assess.ts';
import { type ReissueProgress, reissueDeadline } from './progress.ts';
import { describeTarget } from './target.ts';

/** Reasons of a KeyRevocation's Ready condition: stable strings users and alerts match on. */
export const RevocationConditionReason = {
  InvalidSpec: 'InvalidSpec',
  TrustDomainNotFound: 'TrustDomainNotFound',
  TrustDomainNotReady: 'TrustDomainNotReady',
  Accepted: 'Accepted',
  Reissuing: 'Reissuing',
  GracePeriod: 'GracePeriod',
  Publishing: 'Publishing',
  Revoked: 'Revoked',
  AlreadyRevoked: 'AlreadyRevoked',
} as const;

export type KeyRevocationView = {
  phase: NonNullable<KeyRevocationStatus['phase']>;
  condition: DesiredCondition;
  fields: Omit<KeyRevocationStatus, 'phase' | 'conditions' | 'observedGeneration'>;
};

/** A KeyRevocation the TrustDomain side cannot act on yet, or ever. */
export const blockedView = (
  phase: 'Pending' | 'Failed',
  reason: string,
  message: string,
): KeyRevocationView => ({ phase, condition: ready(reason, message), fields: {} });

export interface KeyRevocationObservation {
  /** SVIDs the tainted authorities still sign, counting pod certificates the revocation waits for. */
  remaining: number;
  /** Certificates in podCertificate volumes not yet past their refresh time. */
  outstandingPodCertificates?: number;
  /** The RegistrationEntries (namespace/name) whose Secrets hold them: named so a stuck one is found. */
  waitingOn: readonly string[];
  /** Entries whose SVID of the key Trustline withdrew rather than re-issued. */
  withdrawn?: readonly string[];
  /** Entries whose Secret holds an SVID of the key and cannot be written (immutable, quota). */
  unwritable?: readonly string[];
  /** Whether every bundle ConfigMap holds the bundle the journal last recorded. */
  published: boolean;
  /** Why the TrustDomain is not Ready, when it is not: a revocation under way waits for it. */
  trustDomainProblem: string | undefined;
  /** ConfigMaps of the copies' names that Trustline does not own, which it left as they are. */
  foreignCopies?: string | undefined;
  now: Date;
  /** Kept from the current status when it is there. */
  validatedAt: string | undefined;
  /** What progress() says, when the journal does not record re-issuing as finished yet. */
  progress?: Pick<ReissueProgress, 'finished' | 'abandoned'> | undefined;
}

type TrustDomainStatus = z.infer<typeof trustDomainStatusSchema>;

const bundleCondition = (status: TrustDomainStatus | undefined) =>
  status?.conditions?.find((c) => c.type === BUNDLE_PUBLISHED_CONDITION);

/**
 * Whether the TrustDomain has published the bundle the journal records: it writes status after every
 * copy (bundle ConfigMaps, the OIDC document, the ClusterTrustBundle), also while it is otherwise not
 * Ready. A ConfigMap that is not Trustline's is no copy of its own: it is named, not waited for, so a
 * tenant cannot hold a revocation back by taking one over.
 */
export function bundlePublished(status: TrustDomainStatus | undefined, journalSequence: number): boolean {
  const condition = bundleCondition(status);
  return (
    (status?.bundleSequence ?? 0) >= journalSequence &&
    (condition?.status === 'True' || condition?.reason === TrustDomainReason.ForeignConfigMap)
  );
}

/** What the TrustDomain says of ConfigMaps of its copies' names that Trustline does not own. */
export function foreignCopies(status: TrustDomainStatus | undefined): string | undefined {
  const condition = bundleCondition(status);
  return condition?.reason === TrustDomainReason.ForeignConfigMap ? condition.message : undefined;
}

/** The Ready reason and message of a TrustDomain that is not Ready; undefined when it is. */
export function trustDomainProblem(status: TrustDomainStatus | undefined): string | undefined {
  const ready = status?.conditions?.find((c) => c.type === 'Ready');
  return ready === undefined || ready.status === 'True' ? undefined : `${ready.reason}: ${ready.message}`;
}

/**
 * The status of a KeyRevocation, from what the journal records and what the cluster shows: it is
 * Revoked only once the bundles without the key are out, not when the journal drops it.
 */
export function keyRevocationView(
  assessment: RevocationAssessment,
  observation: KeyRevocationObservation,
): KeyRevocationView {
  const view = viewOf(assessment, observation);
  const problem = observation.trustDomainProblem;
  if (problem === undefined || view.phase === 'Revoked' || view.phase === 'Failed') return view;
  return {
    ...view,
    condition: {
      ...view.condition,
      message: `${view.condition.message}; the TrustDomain is not ready (${problem})`,
    },
  };
}

function viewOf(assessment: RevocationAssessment, observation: KeyRevocationObservation): KeyRevocationView {
  const { now, validatedAt } = observation;
  switch (assessment.state) {
    case 'refused':
      return blockedView(
        'Failed',
        assessment.refusal.code,
        `${assessment.refusal.message}; nothing was changed`,
      );
    case 'alreadyRevoked':
      return {
        phase: 'Revoked',
        condition: ready(
          RevocationConditionReason.AlreadyRevoked,
          'the key was revoked before; nothing more to do',
          'True',
        ),
        fields: { validatedAt: validatedAt ?? now.toISOString() },
      };
    case 'accepted':
      return {
        phase: 'Pending',
        condition: ready(
          RevocationConditionReason.Accepted,
          `accepted: the TrustDomain controller taints ${describeTarget(assessment.plan.request)} next`,
        ),
        fields: { validatedAt: validatedAt ?? now.toISOString() },
      };
    case 'recorded':
      return recordedView(assessment.record, assessment.own, observation);
  }
}

function recordedView(
  record: RevocationRecord,
  own: boolean,
  observation: KeyRevocationObservation,
): KeyRevocationView {
  const { remaining, waitingOn, published, validatedAt, outstandingPodCertificates = 0 } = observation;
  const { withdrawn = [], unwritable = [] } = observation;
  const target = describeTarget(record);
  const by = own ? '' : ` (carried out for KeyRevocation ${record.requestedBy})`;
  const heldBack = [
    ...(withdrawn.length > 0 ? [`withdrawn from ${listEntries(withdrawn)}`] : []),
    ...(unwritable.length > 0
      ? [`left in unwritable Secrets of ${listEntries(unwritable)}, not waited for`]
      : []),
  ];
  const notReissued = heldBack.length > 0 ? `; SVIDs not re-issued: ${heldBack.join('; ')}` : '';
  const foreign =
    observation.foreignCopies === undefined
      ? ''
      : `; copies Trustline does not own were left as they are (${observation.foreignCopies})`;
  const notes = `${notReissued}${foreign}`;
  const fields: KeyRevocationView['fields'] = {
    validatedAt: validatedAt ?? record.taintedAt,
    taintedAt: record.taintedAt,
    affectedSVIDs: record.affectedSVIDs,
    reissuedSVIDs:
      record.reissuedAt === undefined ? Math.max(0, record.affectedSVIDs - remaining) : record.affectedSVIDs,
    ...(record.rotated ? { rotatedAt: record.taintedAt } : {}),
    ...(record.replacedBy === undefined ? {} : { replacedBy: record.replacedBy }),
    ...(record.reissuedAt === undefined ? {} : { reissuedAt: record.reissuedAt }),
    ...(record.revokedAt === undefined ? { outstandingPodCertificates } : {}),
    ...(withdrawn.length > 0
      ? { withdrawnSVIDs: withdrawn.length, withdrawn: withdrawn.slice(0, MAX_NAMED_SVIDS) }
      : {}),
    ...(unwritable.length > 0
      ? { unwritableSVIDs: unwritable.length, unwritable: unwritable.slice(0, MAX_NAMED_SVIDS) }
      : {}),
  };
  if (record.revokedAt !== undefined && !published) {
    return {
      phase: 'Tainted',
      condition: ready(
        RevocationConditionReason.Publishing,
        `${target} is revoked in the journal${by}; the bundles without it are being published${notes}`,
      ),
      fields,
    };
  }
  if (record.revokedAt !== undefined) {
    return {
      phase: 'Revoked',
      condition: ready(
        own ? RevocationConditionReason.Revoked : RevocationConditionReason.AlreadyRevoked,
        `${target} was revoked at ${record.revokedAt}${by}: it is in no bundle and its private key is destroyed${notes}`,
        'True',
      ),
      fields: { ...fields, revokedAt: record.revokedAt },
    };
  }
  if (record.reissuedAt === undefined && observation.progress?.finished && remaining > 0) {
    // The deadline passed: the TrustDomain controller stops waiting at its next look, whatever is left.
    const deadline = new Date(reissueDeadline(record)).toISOString();
    return {
      phase: 'Tainted',
      condition: ready(
        RevocationConditionReason.Reissuing,
        `${target} is tainted${by}; re-issuing stopped waiting at ${deadline}: ${observation.progress.abandoned} SVIDs it signed that were not re-issued are withdrawn or named here next${notes}`,
      ),
      fields,
    };
  }
  if (record.reissuedAt === undefined) {
    return {
      phase: 'Tainted',
      condition: ready(
        RevocationConditionReason.Reissuing,
        `${target} is tainted${by}; ${remaining} of ${Math.max(record.affectedSVIDs, remaining)} SVIDs it signed are still to be re-issued${waitingOn.length > 0 ? `, in the Secrets of ${listEntries(waitingOn)}` : ''}${outstandingPodCertificates > 0 ? `; ${outstandingPodCertificates} in podCertificate volumes wait for their kubelets to refresh them` : ''}${notes}`,
      ),
      fields,
    };
  }
  const graceEnds = new Date(Date.parse(record.reissuedAt) + record.gracePeriodMs).toISOString();
  return {
    phase: 'Tainted',
    condition: ready(
      RevocationConditionReason.GracePeriod,
      `${record.abandonedSVIDs ? `${target} stopped waiting for re-issuing` : `every SVID signed by ${target} is re-issued`}${by}; it leaves the bundles at ${graceEnds}, when the grace period ends${notes}`,
    ),
    fields,
  };
}

const MAX_NAMED_ENTRIES = 5;

const listEntries = (entries: readonly string[]): string =>
  entries.length > MAX_NAMED_ENTRIES
    ? `${entries.slice(0, MAX_NAMED_ENTRIES).join(', ')} and ${entries.length - MAX_NAMED_ENTRIES} more`
    : entries.join(', ');

type TrustDomainRevocations = NonNullable<TrustDomainStatus['revocations']>;

/** The TrustDomain status view of the journal's revocations. */
export function trustDomainRevocations(journal: Journal): TrustDomainRevocations {
  return journal.revocations.map((record) => ({
    keyRevocation: record.requestedBy,
    kind: record.kind,
    id: record.id,
    state: record.revokedAt === undefined ? 'Tainted' : 'Revoked',
    taintedAt: record.taintedAt,
    ...(record.revokedAt === undefined ? {} : { revokedAt: record.revokedAt }),
  }));
}
