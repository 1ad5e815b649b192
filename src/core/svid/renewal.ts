/**
 * When an SVID is renewed. `renewAt` draws the jittered time recorded when an X.509-SVID is written;
 * `renewalDueAt` is the one answer every "is it due, and when to look again" question gets, for the
 * X.509-SVID and the JWT-SVIDs alike.
 */

import { BACKDATE_MS } from './profile.ts';

export const DEFAULT_RENEWAL_FRACTION = 0.5;
export const DEFAULT_RENEWAL_JITTER = 0.1;
/** Jitter never pulls renewal earlier than this fraction of the lifetime, nor than the fraction asked. */
const EARLIEST_RENEWAL_FRACTION = 0.3;
/** The smallest renewalPercentage the TrustDomain schema admits (src/api/trustdomain.ts), as a fraction. */
export const MIN_RENEWAL_FRACTION = 0.1;
/** Renewal is always due at least this long before expiry, so a fresh SVID is in place in time. */
const LATEST_RENEWAL_MARGIN_MS = 1000;

export interface RenewAtParams {
  notBefore: Date;
  notAfter: Date;
  fraction?: number;
  jitter?: number;
  /** In [0, 1); injected so tests and replays are deterministic. */
  random: () => number;
}

/**
 * A fraction the schema admits below 30% is the user's choice and is honoured; anything under the
 * schema's range is not a choice anyone made, and keeps the 30% floor.
 */
const floorOf = (fraction: number): number =>
  fraction >= MIN_RENEWAL_FRACTION
    ? Math.min(fraction, EARLIEST_RENEWAL_FRACTION)
    : EARLIEST_RENEWAL_FRACTION;

/**
 * When to renew: `fraction` of the lifetime, pulled earlier by up to `jitter` of the lifetime so that
 * SVIDs issued together do not all renew together. Never earlier than 30% of the lifetime (or the
 * fraction, when the user asked for less) and never later than one second before expiry; when the two
 * collide (lifetimes under 1.5 s) the later bound gives way, as renewing early is harmless and
 * renewing late is not.
 */
export function renewAt({
  notBefore,
  notAfter,
  fraction = DEFAULT_RENEWAL_FRACTION,
  jitter = DEFAULT_RENEWAL_JITTER,
  random,
}: RenewAtParams): Date {
  const start = notBefore.getTime();
  const end = notAfter.getTime();
  const lifetime = end - start;
  const draw = Math.min(Math.max(random(), 0), 1);
  const candidate = start + fraction * lifetime - jitter * lifetime * draw;
  const earliest = start + floorOf(fraction) * lifetime;
  const latest = end - LATEST_RENEWAL_MARGIN_MS;
  return new Date(Math.floor(Math.min(Math.max(candidate, earliest), latest)));
}

export interface Lifetime {
  notBefore: Date;
  notAfter: Date;
}

/**
 * The lifetime an X.509-SVID's renewal is reckoned over: from its issue, not from its backdated
 * notBefore. Reckoned from notBefore, a 10 s SVID (valid 20 s with the backdate) was due the moment it
 * was written, and was signed again several times a second.
 */
export const issuedLifetime = ({ notBefore, notAfter }: Lifetime): Lifetime => ({
  notBefore: new Date(Math.min(notBefore.getTime() + BACKDATE_MS, notAfter.getTime())),
  notAfter,
});

const fixed = (lifetime: Lifetime, fraction: number, jitter: number): Date =>
  renewAt({ ...lifetime, fraction, jitter, random: () => 1 });

/**
 * When an SVID of this lifetime is due for renewal: the time recorded at issue when it lies within the
 * bounds `renewAt` keeps for `fraction`; otherwise, as when none is recorded (JWT-SVIDs record none),
 * `fraction` of the lifetime without jitter, so a bad record never delays renewal past where it belongs.
 */
export function renewalDueAt(
  lifetime: Lifetime,
  fraction: number = DEFAULT_RENEWAL_FRACTION,
  recorded?: string,
): Date {
  const at = Date.parse(recorded ?? '');
  const earliest = fixed(lifetime, fraction, 1);
  const latest = fixed(lifetime, 1, 0);
  if (!Number.isNaN(at) && at >= earliest.getTime() && at <= latest.getTime()) return new Date(at);
  return fixed(lifetime, fraction, 0);
}
