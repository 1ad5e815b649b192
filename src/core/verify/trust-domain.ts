import type { SpiffeBundle } from './bundle.ts';

/** The trust domain an SVID must be in, or why it cannot be known. */
export type TrustDomainExpectation = { trustDomain: string } | { problem: string };

/**
 * A SPIFFE bundle does not name its trust domain; its X.509 authorities do, in their one URI SAN.
 * An explicit trust domain wins, which is also how a bundle of JWT keys alone is used.
 */
export function expectedTrustDomain(bundle: SpiffeBundle, explicit?: string): TrustDomainExpectation {
  if (explicit !== undefined) return { trustDomain: explicit };
  const named = [
    ...new Set(bundle.x509Authorities.flatMap((a) => (a.trustDomain === undefined ? [] : [a.trustDomain]))),
  ].sort();
  const [only] = named;
  if (only !== undefined && named.length === 1) return { trustDomain: only };
  return {
    problem:
      named.length === 0
        ? 'the bundle names no trust domain (no X.509 authority carries spiffe://<trust domain>); pass --trust-domain'
        : `the bundle names several trust domains (${named.join(', ')}); pass --trust-domain`,
  };
}
