import { svidNotBefore } from '../svid/profile.ts';

/** The PodCertificateRequest API's floor for a certificate's lifetime (notAfter - notBefore). */
export const MIN_POD_CERTIFICATE_LIFETIME_MS = 3_600_000;
/** The API wants beginRefreshAt at least this far from both ends of the validity. */
const REFRESH_MARGIN_MS = 600_000;
/** beginRefreshAt lands within this fraction either side of the lifetime's midpoint. */
const REFRESH_JITTER = 0.1;

export interface ValidityInput {
  now: Date;
  /** The entry's X.509-SVID lifetime (its own or the TrustDomain's default). */
  entryTtlMs: number;
  /** spec.maxExpirationSeconds of the request. */
  maxExpirationSeconds: number;
  /** The signing authority's notAfter: no certificate outlives its issuer. */
  authorityNotAfter: Date;
  random: () => number;
}

export type Validity =
  | {
      notBefore: Date;
      notAfter: Date;
      beginRefreshAt: Date;
      /** Why the lifetime is not the entry's, for the audit record and events. */
      adjusted: string | undefined;
    }
  | { tooShort: string };

const floorSecond = (ms: number) => Math.floor(ms / 1000) * 1000;
const hours = (ms: number) => `${+(ms / 3_600_000).toFixed(2)}h`;

/**
 * A pod certificate's validity: min(entry TTL, maxExpirationSeconds, what the authority has left), but
 * never under the API's one hour. beginRefreshAt is half the lifetime, jittered so a Deployment's pods
 * do not all refresh together, and kept inside the window the API allows. Whole seconds throughout:
 * the status must repeat the certificate's times exactly.
 */
export function podCertificateValidity(input: ValidityInput): Validity {
  const { now, entryTtlMs, maxExpirationSeconds, authorityNotAfter, random } = input;
  const notBefore = svidNotBefore(now);
  const maxMs = maxExpirationSeconds * 1000;
  const wanted = Math.max(MIN_POD_CERTIFICATE_LIFETIME_MS, Math.min(entryTtlMs, maxMs));
  const notAfterMs = floorSecond(Math.min(notBefore.getTime() + wanted, authorityNotAfter.getTime()));
  const lifetime = notAfterMs - notBefore.getTime();
  if (lifetime < MIN_POD_CERTIFICATE_LIFETIME_MS) {
    return {
      tooShort: `the active X.509 authority expires at ${authorityNotAfter.toISOString()}, too soon for the one hour a pod certificate must last`,
    };
  }
  const adjusted =
    lifetime < Math.min(entryTtlMs, maxMs)
      ? `capped at ${hours(lifetime)} by the authority's expiry`
      : entryTtlMs > maxMs
        ? `capped at the request's maxExpirationSeconds (${hours(maxMs)}) below the entry's ${hours(entryTtlMs)}`
        : entryTtlMs < MIN_POD_CERTIFICATE_LIFETIME_MS
          ? `raised from the entry's ${hours(entryTtlMs)} to the API's minimum of one hour`
          : undefined;
  const midpoint = notBefore.getTime() + (lifetime / 2) * (1 + REFRESH_JITTER * (2 * random() - 1));
  const refresh = Math.min(
    Math.max(midpoint, notBefore.getTime() + REFRESH_MARGIN_MS),
    notAfterMs - REFRESH_MARGIN_MS,
  );
  return {
    notBefore,
    notAfter: new Date(notAfterMs),
    beginRefreshAt: new Date(floorSecond(refresh)),
    adjusted,
  };
}
