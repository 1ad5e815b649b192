import { activeAuthority } from '../authorities/lifecycle.ts';
import type { Journal, RevocationRecord, RevokedAuthority } from '../authorities/model.ts';
import type { RevocationPlan, RevocationRequest } from './assess.ts';
import {
  outstandingPodCertificates,
  type PodCertificateRecord,
  validPodCertificates,
} from './pod-certificates.ts';
import { describeTarget } from './target.ts';

export type RevocationStepName = 'Tainted' | 'Hastened' | 'Reissued' | 'Revoked';

export interface RevocationStep {
  step: RevocationStepName;
  record: RevocationRecord;
}

/** What the caches show of the SVIDs the tainted authorities signed. */
export interface ReissueObservation {
  /**
   * How many SVIDs each authority id (X.509 subject key id or JWT kid) signed, in Secrets Trustline
   * can re-issue: withdrawn ones are no SVID of any authority.
   */
  svidsBySigner: ReadonlyMap<string, number>;
  /** The same count for Secrets the apiserver refuses to write (immutable, quota): held by their tenant. */
  unwritableBySigner?: ReadonlyMap<string, number> | undefined;
  /** Certificates issued to PodCertificateRequests of the trust domain's signer. */
  podCertificates?: readonly PodCertificateRecord[] | undefined;
}

/** SVIDs still signed by any of the ids. */
const remainingSVIDs = (ids: readonly string[], svidsBySigner: ReadonlyMap<string, number>): number =>
  ids.reduce((sum, id) => sum + (svidsBySigner.get(id) ?? 0), 0);

export interface AdvanceRevocationsInput extends ReissueObservation {
  journal: Journal;
  now: Date;
  /** Accepted revocations the journal does not record yet. */
  plans: readonly RevocationPlan[];
  /**
   * KeyRevocations for a key another one is already revoking: the shortest grace period among them
   * applies, so a KeyCompromise is not held up by an earlier PolicyChange's long grace.
   */
  followers?: readonly RevocationRequest[];
}

export interface AdvanceRevocationsResult {
  journal: Journal;
  steps: RevocationStep[];
  /** When a grace period ends: the next instant calling again could revoke something. */
  nextCheckAt: Date | undefined;
}

/** How far re-issuing has come for one revocation: the TrustDomain acts on it, the KeyRevocation reports it. */
export interface ReissueProgress {
  /** Re-issue is finished: the journal says so, nothing is left to wait for, or the deadline passed. */
  finished: boolean;
  /** SVIDs the revocation still waits for. */
  remaining: number;
  /** SVIDs of the tainted authorities still out there, waited for or not: withdrawn once it stops waiting. */
  abandoned: number;
  /** Pod certificates not yet past their refresh, whether or not the revocation waits for them. */
  outstandingPodCertificates: number;
  /** The pod certificates it waits for: time alone moves them past their refresh. */
  waitingPods: PodCertificateRecord[];
  /** Whether Secrets their tenants made unwritable, and pods, are waited for: a leaked key waits for no one. */
  waitsForTenants: boolean;
}

/**
 * The one definition of "re-issue is finished". Once the journal records it, nothing is counted: the
 * tainted authorities' SVIDs left are withdrawn rather than waited for.
 */
export function progress(
  record: Pick<RevocationRecord, 'reason' | 'taintedIds' | 'taintedAt' | 'reissuedAt' | 'reissueTimeoutMs'>,
  observation: ReissueObservation,
  now: Date,
): ReissueProgress {
  const waitsForTenants = record.reason !== 'KeyCompromise';
  if (record.reissuedAt !== undefined) {
    return {
      finished: true,
      remaining: 0,
      abandoned: 0,
      outstandingPodCertificates: 0,
      waitingPods: [],
      waitsForTenants,
    };
  }
  const { svidsBySigner, unwritableBySigner = new Map<string, number>(), podCertificates = [] } = observation;
  const pods = outstandingPodCertificates(podCertificates, record.taintedIds, now);
  const waitingPods = waitsForTenants ? pods : [];
  const reissuable = remainingSVIDs(record.taintedIds, svidsBySigner);
  const unwritable = remainingSVIDs(record.taintedIds, unwritableBySigner);
  const remaining = reissuable + (waitsForTenants ? unwritable : 0) + waitingPods.length;
  return {
    finished: remaining === 0 || stoppedWaiting(record, now),
    remaining,
    abandoned: reissuable + unwritable + waitingPods.length,
    outstandingPodCertificates: pods.length,
    waitingPods,
    waitsForTenants,
  };
}

/** When a revocation stops waiting for re-issuing, records older than the field included. */
export const reissueDeadline = (
  record: Pick<RevocationRecord, 'reason' | 'taintedAt' | 'reissueTimeoutMs'>,
): number =>
  Date.parse(record.taintedAt) +
  (record.reissueTimeoutMs ?? (record.reason === 'KeyCompromise' ? 0 : Infinity));

/** Whether a revocation no longer waits for SVIDs that are not re-issued: they are withdrawn instead. */
export const stoppedWaiting = (
  record: Pick<RevocationRecord, 'reason' | 'taintedAt' | 'reissuedAt' | 'reissueTimeoutMs'>,
  now: Date,
): boolean => record.reissuedAt !== undefined || now.getTime() >= reissueDeadline(record);

/**
 * The authorities whose revocations wait for no one any more, revoked ones included: an SVID they
 * signed that Trustline cannot replace is withdrawn rather than kept while the key is cut off.
 */
export function abandonedSigners(journal: Journal, now: Date): Set<string> {
  return new Set(
    journal.revocations
      .filter((record) => stoppedWaiting(record, now))
      .flatMap((record) => record.taintedIds),
  );
}

/**
 * SPIRE's taint and revoke, as journal transitions. Pure: the clock and the SVID counts are inputs.
 * Run before advanceAuthorities, so a tainted signing authority is replaced in the same journal write;
 * run again at the same `now` with the same counts, it changes nothing.
 */
export function advanceRevocations(input: AdvanceRevocationsInput): AdvanceRevocationsResult {
  const { now, plans, svidsBySigner, followers = [], podCertificates = [] } = input;
  const unwritable = input.unwritableBySigner ?? new Map<string, number>();
  const at = now.toISOString();
  const steps: RevocationStep[] = [];
  let { authorities, revoked, revocations } = input.journal;

  for (const { request, taintedIds, rotated } of plans) {
    // Two KeyRevocations for one key: the first taints it, the second follows its record.
    if (revocations.some((r) => r.kind === request.kind && r.id === request.id)) continue;
    const record: RevocationRecord = {
      requestedBy: request.name,
      kind: request.kind,
      id: request.id,
      reason: request.reason,
      gracePeriodMs: request.gracePeriodMs,
      reissueTimeoutMs: request.reissueTimeoutMs,
      taintedIds,
      rotated,
      taintedAt: at,
      affectedSVIDs:
        remainingSVIDs(taintedIds, svidsBySigner) +
        remainingSVIDs(taintedIds, unwritable) +
        validPodCertificates(podCertificates, taintedIds, now),
    };
    const tainted = new Set(taintedIds);
    const type = request.kind === 'JWT' ? 'JWT' : 'X509';
    authorities = authorities
      // The replacement is minted fresh: a prepared key sat in the same journal as the one cut off.
      .filter((a) => !(rotated && a.type === type && a.state === 'Prepared' && !tainted.has(a.id)))
      .map((a) => (tainted.has(a.id) ? { ...a, state: 'Tainted' } : a));
    revocations = [...revocations, record];
    steps.push({ step: 'Tainted', record });
  }

  let nextCheckAt: number | undefined;
  revocations = revocations.map((record) => {
    if (record.revokedAt !== undefined) return record;
    let next = record;
    const shortest = Math.min(
      ...followers.filter((f) => f.kind === record.kind && f.id === record.id).map((f) => f.gracePeriodMs),
    );
    if (shortest < next.gracePeriodMs) {
      next = { ...next, gracePeriodMs: shortest };
      steps.push({ step: 'Hastened', record: next });
    }
    const seen = progress(next, input, now);
    if (next.reissuedAt === undefined && seen.finished) {
      const { abandoned } = seen;
      next = { ...next, reissuedAt: at, ...(abandoned > 0 ? { abandonedSVIDs: abandoned } : {}) };
      steps.push({ step: 'Reissued', record: next });
    }
    if (next.reissuedAt === undefined) {
      // Time alone moves pod certificates past their refresh, and brings the re-issue deadline.
      for (const pod of seen.waitingPods)
        nextCheckAt = Math.min(nextCheckAt ?? Infinity, pod.beginRefreshAt.getTime());
      const deadline = reissueDeadline(next);
      if (Number.isFinite(deadline)) nextCheckAt = Math.min(nextCheckAt ?? deadline, deadline);
      return next;
    }
    const graceEnds = Date.parse(next.reissuedAt) + next.gracePeriodMs;
    if (now.getTime() < graceEnds) {
      nextCheckAt = Math.min(nextCheckAt ?? graceEnds, graceEnds);
      return next;
    }
    // Dropping the records destroys the private keys: the journal is the only place they live.
    const cut = new Set(next.taintedIds);
    authorities = authorities.filter((a) => !cut.has(a.id));
    const cutOff: RevokedAuthority[] = [{ type: next.kind, id: next.id }];
    // The intermediates under a revoked upstream root go with it, so none is ever published again.
    if (next.kind === 'UpstreamX509')
      cutOff.push(...next.taintedIds.map((id) => ({ type: 'X509' as const, id })));
    revoked = withRevoked(revoked, cutOff);
    next = { ...next, revokedAt: at };
    steps.push({ step: 'Revoked', record: next });
    return next;
  });

  return {
    journal: { ...input.journal, authorities, revoked, revocations },
    steps,
    nextCheckAt: nextCheckAt === undefined ? undefined : new Date(nextCheckAt),
  };
}

const withRevoked = (revoked: readonly RevokedAuthority[], add: readonly RevokedAuthority[]) => [
  ...revoked,
  ...add.filter((a) => !revoked.some((r) => r.type === a.type && r.id === a.id)),
];

/**
 * Names the authority that took over from each rotated target: run after advanceAuthorities, which
 * activated it. Unchanged journal when there is nothing to name.
 */
export function noteReplacements(journal: Journal): Journal {
  if (!journal.revocations.some((r) => r.rotated && r.replacedBy === undefined)) return journal;
  return {
    ...journal,
    revocations: journal.revocations.map((record) => {
      if (!record.rotated || record.replacedBy !== undefined) return record;
      const replacement =
        record.kind === 'JWT' ? activeAuthority(journal, 'JWT') : activeAuthority(journal, 'X509');
      return replacement === undefined ? record : { ...record, replacedBy: replacement.id };
    }),
  };
}

/** The revocations still under way: their tainted authorities' SVIDs are watched until re-issued. */
export const inProgress = (journal: Journal): RevocationRecord[] =>
  journal.revocations.filter((r) => r.revokedAt === undefined);

/** The revocation, under way or done, that cut off an upstream root; undefined if none did. */
export const revokedUpstreamRoot = (journal: Journal, rootId: string): RevocationRecord | undefined =>
  journal.revocations.find((r) => r.kind === 'UpstreamX509' && r.id === rootId);

/** What an event and the audit log say about a step. */
export function revocationStepMessage(step: RevocationStepName, record: RevocationRecord): string {
  const target = describeTarget(record);
  switch (step) {
    case 'Tainted':
      return `${target} tainted (${record.reason}, KeyRevocation ${record.requestedBy})${record.rotated ? '; a newly minted replacement signs from now on' : ''}: ${record.affectedSVIDs} SVIDs it signed are re-issued or, in podCertificate volumes, refreshed by their kubelets`;
    case 'Hastened':
      return `another KeyRevocation shortened the grace period of ${target} to ${record.gracePeriodMs / 1000}s`;
    case 'Reissued':
      return record.abandonedSVIDs
        ? `${target} stopped waiting for re-issuing after ${(record.reissueTimeoutMs ?? 0) / 1000}s: ${record.abandonedSVIDs} SVIDs it signed that could not be re-issued are withdrawn or named in the KeyRevocation's status; it leaves the bundles after a grace period of ${record.gracePeriodMs / 1000}s`
        : `every SVID signed by ${target} is re-issued; it leaves the bundles after a grace period of ${record.gracePeriodMs / 1000}s`;
    case 'Revoked':
      return `${target} revoked: removed from every bundle, its private key destroyed`;
  }
}
