/**
 * Leader election over a coordination.k8s.io Lease, as client-go's leaderelection package does it:
 * a candidate takes the Lease only when its holder has not renewed it for a whole lease duration,
 * measured on the candidate's own clock from when it last saw the record change, so clock skew
 * between replicas never shortens a leader's term.
 */

/** client-go's jitter: candidates spread their tries by up to this factor of the retry period. */
export const LEASE_JITTER = 1.2;

export interface LeaseTiming {
  /** How long a holder's term lasts after its last renewal, as other candidates see it. */
  leaseDurationMs: number;
  /** How long the leader keeps trying to renew before it gives leadership up. */
  renewDeadlineMs: number;
  /** How often candidates try to acquire and the leader renews. */
  retryPeriodMs: number;
}

/** The part of a Lease's spec that election reads and writes. */
export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** The Lease as a candidate last saw it, and when (on its own clock) the record last changed. */
export interface LeaseObservation {
  record: LeaseRecord;
  observedAtMs: number;
}

export type LeaseStep =
  | { action: 'create'; record: LeaseRecord }
  | { action: 'update'; record: LeaseRecord }
  | { action: 'wait'; holder: string };

/** Lease times are MicroTime: RFC 3339 with exactly six fractional digits. */
export const microTime = (date: Date): string => date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/** What a candidate does next with the Lease it observed (undefined: there is none yet). */
export function planLeaseStep(
  identity: string,
  observation: LeaseObservation | undefined,
  timing: LeaseTiming,
  now: Date,
): LeaseStep {
  const renewTime = microTime(now);
  const term = Math.ceil(timing.leaseDurationMs / 1000);
  if (observation === undefined) {
    return {
      action: 'create',
      record: {
        holderIdentity: identity,
        leaseDurationSeconds: term,
        acquireTime: renewTime,
        renewTime,
        leaseTransitions: 0,
      },
    };
  }
  const { record } = observation;
  const holder = record.holderIdentity ?? '';
  if (holder === identity) {
    return {
      action: 'update',
      record: { ...record, leaseDurationSeconds: term, renewTime },
    };
  }
  // The holder's own term, not ours: a leader configured with a longer lease keeps it that long.
  const holderTermMs = (record.leaseDurationSeconds ?? term) * 1000;
  if (holder !== '' && observation.observedAtMs + holderTermMs > now.getTime()) {
    return { action: 'wait', holder };
  }
  return {
    action: 'update',
    record: {
      holderIdentity: identity,
      leaseDurationSeconds: term,
      acquireTime: renewTime,
      renewTime,
      leaseTransitions: (record.leaseTransitions ?? 0) + 1,
    },
  };
}

/** The record a leader leaves when it stops: no holder, so a standby takes over at its next try. */
export const releasedRecord = (record: LeaseRecord, now: Date): LeaseRecord => ({
  ...record,
  holderIdentity: '',
  leaseDurationSeconds: 1,
  renewTime: microTime(now),
});

/** Whether a record is a change from the one last observed, which restarts the holder's term. */
export const recordChanged = (previous: LeaseRecord | undefined, next: LeaseRecord): boolean =>
  previous === undefined ||
  previous.holderIdentity !== next.holderIdentity ||
  previous.renewTime !== next.renewTime ||
  previous.acquireTime !== next.acquireTime ||
  previous.leaseTransitions !== next.leaseTransitions;
