import type { z } from 'zod';
import type { trustDomainStatusSchema } from '../../api/trustdomain.ts';
import { activeAuthority } from '../authorities/lifecycle.ts';
import type { Journal } from '../authorities/model.ts';

type TrustDomainStatus = z.infer<typeof trustDomainStatusSchema>;
export type AuthorityStatus = NonNullable<TrustDomainStatus['authorities']>[number];

const byTypeThenAge = (a: AuthorityStatus, b: AuthorityStatus) =>
  a.kind.localeCompare(b.kind) || a.notBefore.localeCompare(b.notBefore) || a.id.localeCompare(b.id);

/** The status view of the journal's authorities: ids, states and validity, never key material. */
export function authorityStatuses(journal: Journal): AuthorityStatus[] {
  return journal.authorities
    .map(
      (authority): AuthorityStatus => ({
        id: authority.id,
        kind: authority.type,
        state: authority.state,
        notBefore: authority.notBefore,
        notAfter: authority.notAfter,
        ...(authority.type === 'X509' ? { upstreamSigned: authority.upstream !== undefined } : {}),
      }),
    )
    .sort(byTypeThenAge);
}

/** When the active X.509 authority expires: the date `kubectl get trustdomains` shows. */
export function activeX509Expiry(journal: Journal): string | undefined {
  return activeAuthority(journal, 'X509')?.notAfter;
}
