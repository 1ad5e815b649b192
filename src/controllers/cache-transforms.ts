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

/**
 * A trust bundle sits in every SVID Secret of a trust domain, and a bundle or JWKS copy in every
 * namespace it is published to: one string of each recent value is shared by all of them.
 */
const BUNDLE_KEYS: ReadonlySet<string> = new Set([TLS_CA_KEY, SVID_BUNDLE_KEY]);
/** Values in use at once: a few per trust domain, twice while one rotates; older ones fall out. */
const SHARED_VALUES = 64;
const sharedValues = new Map<string, string>();

function shared(value: string): string {
  const known = sharedValues.get(value);
  if (known !== undefined) return known;
  const oldest = sharedValues.keys().next();
  if (sharedValues.size >= SHARED_VALUES && !oldest.done) sharedValues.delete(oldest.value);
  sharedValues.set(value, value);
  return value;
}

/**
 * The same data, with equal values held once: the values `isShared` names share one string across
 * objects, and a value equal to another of the same object (svid.pem is tls.crt, svid_key.pem is
 * tls.key) shares its string. Every value stays what it was, so nothing that reads or compares the
 * data changes.
 */
export function shareValues(
  data: Readonly<Record<string, string>>,
  isShared: (key: string) => boolean = (key) => BUNDLE_KEYS.has(key),
): Record<string, string> {
  const held: string[] = [];
  return Object.fromEntries(
    Object.entries(data).map(([key, value]) => {
      if (isShared(key)) return [key, shared(value)];
      const same = held.find((other) => other === value);
      if (same !== undefined) return [key, same];
      held.push(value);
      return [key, value];
    }),
  );
}

function withSharedData(object: KubeObject, isShared?: (key: string) => boolean): KubeObject {
  const slim = withoutManagedFields(object);
  const data = dataObjectSchema.safeParse(slim).data?.data;
  return data === undefined ? slim : { ...slim, data: shareValues(data, isShared) };
}

/** An SVID Secret as the cache keeps it: without managedFields, its bundle and copies shared. */
export const slimSvidSecret = (object: KubeObject): KubeObject => withSharedData(object);

/** A bundle or OIDC ConfigMap: every value is the same in each namespace's copy, so all are shared. */
export const slimConfigMap = (object: KubeObject): KubeObject => withSharedData(object, () => true);
