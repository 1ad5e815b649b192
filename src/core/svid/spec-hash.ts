import { createHash } from 'node:crypto';
import type { DesiredIdentity } from './identity.ts';

/**
 * sha256 hex of the canonical JSON of what the X.509-SVID is made from. DNS names are a set, so they
 * are sorted and deduplicated. JWT-SVIDs are left out: each token is checked on its own, and an
 * audience change must not re-sign the X.509-SVID.
 */
export function specHash(identity: DesiredIdentity): string {
  const canonical = JSON.stringify([
    ['spiffeId', identity.spiffeId],
    ['dnsNames', [...new Set(identity.dnsNames)].sort()],
    ['keyType', identity.keyType],
    ['x509TtlMs', identity.x509TtlMs],
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}
