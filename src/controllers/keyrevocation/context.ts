import {
  gracePeriodMs,
  type KeyRevocation,
  keyRevocationSchema,
  reissueTimeoutMs,
} from '../../api/keyrevocation.ts';
import { claimedTrustDomain, type TrustDomain } from '../../api/trustdomain.ts';
import type { Journal } from '../../core/authorities/model.ts';
import type { UpstreamCA } from '../../core/authorities/upstream.ts';
import type { RevocationContext, RevocationRequest } from '../../core/revocation/assess.ts';
import type { Informer } from '../../kube/informer.ts';
import type { JournalCache } from '../journal-cache.ts';

/** What a KeyRevocation asks for, with its defaults applied. */
export const requestOf = (revocation: KeyRevocation): RevocationRequest => ({
  name: revocation.metadata.name,
  kind: revocation.spec.authority.kind,
  id: revocation.spec.authority.id,
  reason: revocation.spec.reason,
  gracePeriodMs: gracePeriodMs(revocation.spec),
  reissueTimeoutMs: reissueTimeoutMs(revocation.spec),
});

/**
 * The valid KeyRevocations that name a TrustDomain object, oldest first so two for one key resolve
 * the same way every time. Invalid ones are left to the KeyRevocation controller to report.
 */
export function requestsFor(
  keyRevocations: Pick<Informer, 'list'>,
  trustDomainObject: string,
): RevocationRequest[] {
  return keyRevocations
    .list()
    .flatMap((object) => {
      const parsed = keyRevocationSchema.safeParse(object);
      return parsed.success && parsed.data.spec.trustDomainRef.name === trustDomainObject
        ? [parsed.data]
        : [];
    })
    .sort(
      (a, b) =>
        (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
        a.metadata.name.localeCompare(b.metadata.name),
    )
    .map(requestOf);
}

/** Everything assessRevocation needs for a trust domain, read from the caches. */
export function revocationContext(options: {
  trustDomain: TrustDomain;
  journal: Journal;
  upstream: UpstreamCA | undefined;
  operatorNamespace: string;
  trustDomains: Pick<Informer, 'list'>;
  journals: Pick<JournalCache, 'get'>;
}): RevocationContext {
  const { trustDomain, journal, upstream, operatorNamespace, trustDomains, journals } = options;
  const name = trustDomain.spec.trustDomain;
  const others = new Set(
    trustDomains
      .list()
      .flatMap((object) => claimedTrustDomain(object) ?? [])
      .filter((other) => other !== name),
  );
  return {
    trustDomain: name,
    journal,
    upstream: upstreamView(trustDomain, journal, upstream, operatorNamespace),
    others: [...others].flatMap((other) => {
      const found = journals.get(other);
      return found === undefined || found instanceof Error ? [] : [found];
    }),
  };
}

/**
 * The upstream CA as a revocation sees it. With its Secret missing or unusable, the roots are those
 * the journal's intermediates chain to and no signer exists: a compromised root is still cut off.
 */
function upstreamView(
  trustDomain: TrustDomain,
  journal: Journal,
  upstream: UpstreamCA | undefined,
  operatorNamespace: string,
): RevocationContext['upstream'] {
  const secretName = trustDomain.spec.upstream?.secretName;
  if (secretName === undefined) return undefined;
  const secret = `${operatorNamespace}/${secretName}`;
  if (upstream !== undefined) {
    return { secret, rootIds: upstream.roots.map((root) => root.id), signerRootId: upstream.rootId };
  }
  const rootIds = journal.authorities.flatMap((a) =>
    a.type === 'X509' && a.upstream ? [a.upstream.rootId] : [],
  );
  return { secret, rootIds: [...new Set(rootIds)], signerRootId: '' };
}
