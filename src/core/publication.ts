/** One document Trustline keeps in a set of namespaces on behalf of a TrustDomain. */
export interface Publication {
  name: string;
  content: string;
  data: Record<string, string>;
  namespaces: readonly string[];
  owner: { name: string; uid: string };
}

/** A copy of a published ConfigMap as the cache holds it. */
export interface PublishedCopy {
  namespace: string;
  name: string;
  resourceVersion: string;
  /** The ConfigMap's own uid: a write to it is refused if the name now holds another object. */
  uid?: string;
  data: Readonly<Record<string, string>>;
  /** The uid of the TrustDomain in its ownerReferences, if any. */
  ownerUid: string | undefined;
}

export interface PublicationPlan {
  create: string[];
  update: { namespace: string; resourceVersion: string; uid?: string }[];
  /** Copies no longer wanted that still hold data: emptied by update, never deleted. */
  empty: { namespace: string; name: string; resourceVersion: string; uid?: string }[];
}

/** Whether two ConfigMap data maps hold the same entries, whatever their order. */
export const sameData = (
  a: Readonly<Record<string, string>>,
  b: Readonly<Record<string, string>>,
): boolean => {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
};

const uidOf = (copy: PublishedCopy) => (copy.uid === undefined ? {} : { uid: copy.uid });

/**
 * What to write so that exactly `namespaces` hold a ConfigMap `name` with `data`, owned by `ownerUid`,
 * given the copies Trustline already published. Copies that match are left alone (no write), copies
 * that were edited or lost their owner are put back, and copies elsewhere or under an old name are
 * emptied (once: an empty copy needs no write), so no stale root lingers without a cluster-wide delete.
 */
export function planPublication({
  name,
  data,
  namespaces,
  existing,
  ownerUid,
}: {
  name: string;
  data: Readonly<Record<string, string>>;
  namespaces: readonly string[];
  existing: readonly PublishedCopy[];
  ownerUid: string;
}): PublicationPlan {
  const wanted = new Set(namespaces);
  const plan: PublicationPlan = { create: [], update: [], empty: [] };
  const present = new Set<string>();
  for (const copy of existing) {
    if (copy.name !== name || !wanted.has(copy.namespace)) {
      if (Object.keys(copy.data).length > 0)
        plan.empty.push({
          namespace: copy.namespace,
          name: copy.name,
          resourceVersion: copy.resourceVersion,
          ...uidOf(copy),
        });
      continue;
    }
    present.add(copy.namespace);
    if (!sameData(copy.data, data) || copy.ownerUid !== ownerUid) {
      plan.update.push({ namespace: copy.namespace, resourceVersion: copy.resourceVersion, ...uidOf(copy) });
    }
  }
  for (const namespace of wanted) {
    if (!present.has(namespace)) plan.create.push(namespace);
  }
  plan.create.sort();
  return plan;
}
