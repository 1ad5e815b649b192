import { durationMs } from '../../api/duration.ts';
import type { TrustDomainSpec } from '../../api/trustdomain.ts';
import type { AuthorityPolicy } from '../authorities/model.ts';

/** An SVID never outlives its authority; SPIRE warns below the same ratio. */
export const MIN_AUTHORITY_TO_SVID_RATIO = 6;

/** The key types and lifetimes new authorities get, from a spec that already passed the schema. */
export function authorityPolicy(spec: TrustDomainSpec): AuthorityPolicy {
  return {
    x509: { keyType: spec.ca.keyType, ttlMs: durationMs(spec.ca.ttl) },
    jwt: { algorithm: spec.jwt.algorithm, ttlMs: durationMs(spec.jwt.ttl) },
  };
}

/** The default SVID lifetimes in milliseconds. */
export function svidLifetimes(spec: TrustDomainSpec): { x509Ms: number; jwtMs: number } {
  return { x509Ms: durationMs(spec.svid.x509TTL), jwtMs: durationMs(spec.svid.jwtTTL) };
}

/**
 * Why the authority lifetimes cannot serve the SVID lifetimes, or undefined when they can. Each
 * authority lifetime must be at least 6 times the SVID lifetime it signs, and the ceiling
 * svid.maxX509TTL may only lower what ca.ttl allows.
 */
export function lifetimeProblem(spec: TrustDomainSpec): string | undefined {
  const { maxX509TTL } = spec.svid;
  const pairs = [
    { authority: 'ca.ttl', authorityTtl: spec.ca.ttl, svid: 'svid.x509TTL', svidTtl: spec.svid.x509TTL },
    ...(maxX509TTL === undefined
      ? []
      : [{ authority: 'ca.ttl', authorityTtl: spec.ca.ttl, svid: 'svid.maxX509TTL', svidTtl: maxX509TTL }]),
    { authority: 'jwt.ttl', authorityTtl: spec.jwt.ttl, svid: 'svid.jwtTTL', svidTtl: spec.svid.jwtTTL },
  ];
  const problems = pairs
    .filter(
      ({ authorityTtl, svidTtl }) =>
        durationMs(authorityTtl) < MIN_AUTHORITY_TO_SVID_RATIO * durationMs(svidTtl),
    )
    .map(
      ({ authority, authorityTtl, svid, svidTtl }) =>
        `${authority} ${authorityTtl} is under ${MIN_AUTHORITY_TO_SVID_RATIO} times ${svid} ${svidTtl}; ` +
        `raise ${authority} or lower ${svid}, so every SVID is signed well before its authority expires`,
    );
  return problems.length > 0 ? problems.join('; ') : undefined;
}
