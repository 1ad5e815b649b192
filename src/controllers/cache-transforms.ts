import { SVID_BUNDLE_KEY, TLS_CA_KEY } from '../api/well-known.ts';
import type { KubeObject } from '../kube/informer.ts';
import { dataObjectSchema } from '../kube/objects.ts';

/**
 * What the caches keep of each object as it arrives: the caches hold every SVID Secret, pod and
 * Trustline object in the cluster for as long as the operator runs, so what no decision reads is
 * dropped once here instead of held thousands of times.
 */

/** Who wrote which field: the apiserver's bookkeeping, often the largest part of an object's metadata. */
export function withoutManagedFields(object: KubeObject): KubeObject {
  if (object.metadata.managedFields === undefined) return object;
  const { managedFields: _dropped, ...metadata } = object.metadata;
  return { ...object, metadata };
}

/** A trust bundle sits in every SVID Secret of a trust domain: one copy of each recent one is shared. */
const BUNDLE_KEYS: ReadonlySet<string> = new Set([TLS_CA_KEY, SVID_BUNDLE_KEY]);
/** Bundles in use at once: one per trust domain, two while one rotates; older ones fall out. */
const SHARED_BUNDLES = 64;
const sharedBundles = new Map<string, string>();

function sharedBundle(value: string): string {
  const known = sharedBundles.get(value);
  if (known !== undefined) return known;
  const oldest = sharedBundles.keys().next();
  if (sharedBundles.size >= SHARED_BUNDLES && !oldest.done) sharedBundles.delete(oldest.value);
  sharedBundles.set(value, value);
  return value;
}

/**
 * The same data, with equal values held once: the bundle keys share one string across Secrets, and
 * a key equal to another of the same Secret (svid.pem is tls.crt, svid_key.pem is tls.key) shares its
 * string. Every value stays what it was, so nothing that reads or compares the data changes.
 */
export function shareValues(data: Readonly<Record<string, string>>): Record<string, string> {
  const held: string[] = [];
  return Object.fromEntries(
    Object.entries(data).map(([key, value]) => {
      if (BUNDLE_KEYS.has(key)) return [key, sharedBundle(value)];
      const same = held.find((other) => other === value);
      if (same !== undefined) return [key, same];
      held.push(value);
      return [key, value];
    }),
  );
}

/** An SVID Secret as the cache keeps it: without managedFields, its data values shared. */
export function slimSvidSecret(object: KubeObject): KubeObject {
  const slim = withoutManagedFields(object);
  const data = dataObjectSchema.safeParse(slim).data?.data;
  return data === undefined ? slim : { ...slim, data: shareValues(data) };
}
