import { durationMs } from '../../api/duration.ts';
import type { RegistrationEntrySpec } from '../../api/registrationentry.ts';
import type { TrustDomainSpec } from '../../api/trustdomain.ts';
import { MIN_AUTHORITY_TO_SVID_RATIO } from '../trustdomain/lifetimes.ts';
import type { DesiredIdentity } from './reissue.ts';

export interface IdentityPlan {
  identity: DesiredIdentity;
  /** Lifetimes asked for that the authorities cannot serve, each capped, for a warning. */
  capped: string[];
}

/**
 * The identity an entry asks for with the TrustDomain's defaults filled in. A lifetime over a sixth of
 * its authority's is capped there: an SVID never outlives its authority, and SVIDs are renewed well
 * before the authority rotates.
 */
export function desiredIdentity(entry: RegistrationEntrySpec, trustDomain: TrustDomainSpec): IdentityPlan {
  const capped: string[] = [];
  const cap = (what: string, requested: string, authorityTtl: string): number => {
    const limit = durationMs(authorityTtl) / MIN_AUTHORITY_TO_SVID_RATIO;
    if (durationMs(requested) <= limit) return durationMs(requested);
    capped.push(
      `${what} ${requested} is capped at ${limit / 1000}s, a sixth of the authority lifetime ${authorityTtl}`,
    );
    return limit;
  };
  const identity: DesiredIdentity = {
    spiffeId: `spiffe://${trustDomain.trustDomain}${entry.spiffeIDPath}`,
    dnsNames: entry.dnsNames ?? [],
    keyType: entry.x509.keyType ?? trustDomain.ca.keyType,
    x509TtlMs: cap('x509.ttl', entry.x509.ttl ?? trustDomain.svid.x509TTL, trustDomain.ca.ttl),
    jwtSvids: (entry.jwtSVIDs ?? []).map((jwt) => ({
      key: jwt.key,
      audiences: jwt.audiences,
      ttlMs: cap(`jwtSVIDs[${jwt.key}].ttl`, jwt.ttl ?? trustDomain.svid.jwtTTL, trustDomain.jwt.ttl),
    })),
  };
  return { identity, capped };
}
