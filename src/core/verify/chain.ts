import type { BundleX509Authority } from './bundle.ts';
import { type Certificate, isCa, issued } from './certificate.ts';

/** How far a leaf chains: the certificates from the leaf up, and the bundle authority they end at. */
export interface CertificationPath {
  /** The leaf, then each intermediate used, in signing order. */
  certificates: Certificate[];
  /** The bundle authority that signed the last certificate; undefined when none did. */
  anchor: BundleX509Authority | undefined;
}

/**
 * Walks from the leaf to a bundle authority through the given intermediates, in any order, each used
 * at most once. Only CA certificates may sign on the way, as RFC 5280 path validation requires.
 */
export function buildPath(
  leaf: Certificate,
  intermediates: readonly Certificate[],
  authorities: readonly BundleX509Authority[],
): CertificationPath {
  const certificates = [leaf];
  const unused = new Set(intermediates);
  for (let current = leaf; ; ) {
    const anchor = authorities.find((authority) => issued(authority.certificate, current));
    if (anchor !== undefined) return { certificates, anchor };
    const next = [...unused].find((candidate) => isCa(candidate) && issued(candidate, current));
    if (next === undefined) return { certificates, anchor: undefined };
    unused.delete(next);
    certificates.push(next);
    current = next;
  }
}
