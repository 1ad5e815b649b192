/** Times as the CLI shows them: short relative durations and instants to the second. Pure. */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * A duration in its largest sensible unit, rounded down, as kubectl shows ages: seconds up to two
 * minutes, minutes up to two hours, hours up to two days, then days.
 */
export function humanDuration(ms: number): string {
  const span = Math.abs(ms);
  if (span < 2 * MINUTE) return `${Math.floor(span / SECOND)}s`;
  if (span < 2 * HOUR) return `${Math.floor(span / MINUTE)}m`;
  if (span < 2 * DAY) return `${Math.floor(span / HOUR)}h`;
  return `${Math.floor(span / DAY)}d`;
}

/** ISO 8601 without milliseconds: certificates and status hold whole seconds. */
export const instant = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

export type ValidityStatus = 'valid' | 'expired' | 'not-yet-valid';

export interface Validity {
  status: ValidityStatus;
  /** Until notAfter, negative once it has passed: what "expires in" counts. */
  secondsLeft: number;
  /** Until notBefore, when that is still to come; otherwise 0. */
  secondsToStart: number;
}

const secondsBetween = (from: Date, to: Date): number => Math.floor((to.getTime() - from.getTime()) / SECOND);

export function validityAt(notBefore: Date | undefined, notAfter: Date, now: Date): Validity {
  const secondsToStart = notBefore === undefined ? 0 : Math.max(0, secondsBetween(now, notBefore));
  const status: ValidityStatus = now > notAfter ? 'expired' : secondsToStart > 0 ? 'not-yet-valid' : 'valid';
  return { status, secondsLeft: secondsBetween(now, notAfter), secondsToStart };
}

/** "valid, expires in 6d", "expired 2h ago", "not yet valid, starts in 5m". */
export function describeValidity({ status, secondsLeft, secondsToStart }: Validity): string {
  if (status === 'expired') return `expired ${humanDuration(secondsLeft * SECOND)} ago`;
  if (status === 'not-yet-valid') return `not yet valid, starts in ${humanDuration(secondsToStart * SECOND)}`;
  return `valid, expires in ${humanDuration(secondsLeft * SECOND)}`;
}

/** "in 6d" or "6d ago": how far from now something falls that has no start, such as a status time. */
export const relativeSeconds = (seconds: number): string =>
  seconds >= 0 ? `in ${humanDuration(seconds * SECOND)}` : `${humanDuration(seconds * SECOND)} ago`;

/** A status timestamp, which may be missing or not a date. */
export const parseInstant = (text: string | undefined): Date | undefined => {
  if (text === undefined) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
};
