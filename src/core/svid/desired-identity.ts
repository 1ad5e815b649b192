import { durationMs } from '../../api/duration.ts';
import type { RegistrationEntrySpec } from '../../api/registrationentry.ts';
import type { TrustDomainSpec, X509KeyType } from '../../api/trustdomain.ts';
import { MIN_AUTHORITY_TO_SVID_RATIO } from '../trustdomain/lifetimes.ts';
import type { DesiredIdentity } from './identity.ts';

/** What a TrustDomain's SVID limits refuse an entry or a pod certificate, as a condition reason. */
export type LimitRule = 'TTLBelowMinimum' | 'KeyTypeNotAllowed';
export interface LimitRefusal {
  refused: LimitRule;
  message: string;
}

export type IdentityPlan =
  | {
      identity: DesiredIdentity;
      /** Lifetimes asked for over the TrustDomain's ceilings, each capped, for a warning. */
      capped: string[];
    }
  | LimitRefusal;

export const isRefusal = <T extends object>(value: T | LimitRefusal): value is LimitRefusal =>
  'refused' in value;

/**
 * The X.509-SVID lifetime an entry gets: its own or the TrustDomain default, capped at the ceiling
 * (svid.maxX509TTL, and never over a sixth of ca.ttl so SVIDs are renewed well before the authority
 * rotates), and refused under the floor svid.minX509TTL: a floor exists so that a tenant cannot churn
 * keys, and raising the lifetime silently would hide the request from the tenant.
 */
export function x509Lifetime(
  entry: Pick<RegistrationEntrySpec, 'x509'>,
  trustDomain: TrustDomainSpec,
): { ttlMs: number; capped: string | undefined } | LimitRefusal {
  const requested = entry.x509.ttl ?? trustDomain.svid.x509TTL;
  const what =
    entry.x509.ttl === undefined
      ? `the TrustDomain default svid.x509TTL ${requested}`
      : `x509.ttl ${requested}`;
  const { minX509TTL, maxX509TTL } = trustDomain.svid;
  if (durationMs(requested) < durationMs(minX509TTL)) {
    return {
      refused: 'TTLBelowMinimum',
      message: `${what} is under the TrustDomain's svid.minX509TTL ${minX509TTL}: ask for at least ${minX509TTL}`,
    };
  }
  const authorityLimit = durationMs(trustDomain.ca.ttl) / MIN_AUTHORITY_TO_SVID_RATIO;
  const ceiling =
    maxX509TTL !== undefined && durationMs(maxX509TTL) < authorityLimit
      ? { ms: durationMs(maxX509TTL), why: `the TrustDomain's svid.maxX509TTL ${maxX509TTL}` }
      : { ms: authorityLimit, why: `a sixth of the authority lifetime ${trustDomain.ca.ttl}` };
  if (ceiling.ms < durationMs(minX509TTL)) {
    return {
      refused: 'TTLBelowMinimum',
      message: `the TrustDomain's ceiling (${ceiling.why}) is under its svid.minX509TTL ${minX509TTL}: no X.509-SVID can be issued until the platform team mends the limits`,
    };
  }
  if (durationMs(requested) <= ceiling.ms) return { ttlMs: durationMs(requested), capped: undefined };
  return {
    ttlMs: ceiling.ms,
    capped: `x509.ttl ${requested} is capped at ${ceiling.ms / 1000}s, ${ceiling.why}`,
  };
}

/** Why the TrustDomain's svid.allowedKeyTypes refuse a key type, or undefined when they allow it. */
export function keyTypeRefusal(
  keyType: X509KeyType,
  trustDomain: TrustDomainSpec,
  asked: string,
): LimitRefusal | undefined {
  const allowed = trustDomain.svid.allowedKeyTypes;
  if (allowed === undefined || allowed.includes(keyType)) return undefined;
  return {
    refused: 'KeyTypeNotAllowed',
    message: `${asked} ${keyType}, which the TrustDomain's svid.allowedKeyTypes do not allow: use one of ${allowed.join(', ')}`,
  };
}

/**
 * The identity an entry asks for with the TrustDomain's defaults filled in and its limits applied. A JWT
 * lifetime over a sixth of its authority's is capped there, as X.509 lifetimes are.
 */
export function desiredIdentity(entry: RegistrationEntrySpec, trustDomain: TrustDomainSpec): IdentityPlan {
  const keyType = entry.x509.keyType ?? trustDomain.ca.keyType;
  const keyRefusal = keyTypeRefusal(
    keyType,
    trustDomain,
    entry.x509.keyType === undefined
      ? 'the entry takes the default key type, ca.keyType'
      : 'x509.keyType asks for',
  );
  if (keyRefusal) return keyRefusal;
  const lifetime = x509Lifetime(entry, trustDomain);
  if (isRefusal(lifetime)) return lifetime;
  const capped = lifetime.capped === undefined ? [] : [lifetime.capped];
  const capJwt = (key: string, requested: string): number => {
    const limit = durationMs(trustDomain.jwt.ttl) / MIN_AUTHORITY_TO_SVID_RATIO;
    if (durationMs(requested) <= limit) return durationMs(requested);
    capped.push(
      `jwtSVIDs[${key}].ttl ${requested} is capped at ${limit / 1000}s, a sixth of the authority lifetime ${trustDomain.jwt.ttl}`,
    );
    return limit;
  };
  const identity: DesiredIdentity = {
    spiffeId: `spiffe://${trustDomain.trustDomain}${entry.spiffeIDPath}`,
    dnsNames: entry.dnsNames ?? [],
    keyType,
    x509TtlMs: lifetime.ttlMs,
    jwtSvids: (entry.jwtSVIDs ?? []).map((jwt) => ({
      key: jwt.key,
      audiences: jwt.audiences,
      ttlMs: capJwt(jwt.key, jwt.ttl ?? trustDomain.svid.jwtTTL),
    })),
  };
  return { identity, capped };
}
