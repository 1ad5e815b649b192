/** A ClusterTrustBundle Trustline keeps for a signer, as the cache holds it. */
export interface PublishedTrustBundle {
  name: string;
  resourceVersion: string;
  signerName: string;
  trustBundle: string;
  ownerUid: string | undefined;
}

export interface TrustBundlePlan {
  create: boolean;
  update: { resourceVersion: string } | undefined;
  /** Copies under another name: a signer renamed, or an old naming. */
  remove: { name: string; resourceVersion: string }[];
}

/**
 * The name the API requires of a signer-linked ClusterTrustBundle: the signer name with `/` as `:`,
 * then `:` and a suffix of Trustline's.
 */
export const clusterTrustBundleName = (signerName: string): string =>
  `${signerName.replaceAll('/', ':')}:spiffe-bundle`;

/**
 * What to write so that one ClusterTrustBundle for `signerName` holds `pem`. An empty bundle (every key
 * revoked) has no valid ClusterTrustBundle, so the copy goes. A copy that matches is left alone.
 */
export function planTrustBundle({
  signerName,
  pem,
  ownerUid,
  existing,
}: {
  signerName: string;
  pem: string;
  ownerUid: string;
  existing: readonly PublishedTrustBundle[];
}): TrustBundlePlan {
  const name = clusterTrustBundleName(signerName);
  const wanted = pem.includes('-----BEGIN CERTIFICATE-----');
  const current = existing.find((bundle) => bundle.name === name && bundle.signerName === signerName);
  const remove = existing
    .filter((bundle) => bundle !== current || !wanted)
    .map(({ name: stale, resourceVersion }) => ({ name: stale, resourceVersion }));
  if (!wanted) return { create: false, update: undefined, remove };
  const matches = current?.trustBundle === pem && current.ownerUid === ownerUid;
  return {
    create: current === undefined,
    update: current !== undefined && !matches ? { resourceVersion: current.resourceVersion } : undefined,
    remove,
  };
}
