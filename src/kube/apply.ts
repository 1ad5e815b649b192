import { createHash } from 'node:crypto';
import { z } from 'zod';
import { objectMetaSchema } from '../api/meta.ts';
import { isConflict, isNotFound, isReplaced, KubeApiError } from './errors.ts';
import { type KubeObject, kubeObjectSchema } from './informer.ts';
import { collectionPath, objectPath, type ResourceType } from './resources.ts';
import type { RestClient } from './rest.ts';

/** The field manager of every object Trustline derives (the REST client sets none of its own). */
export const FIELD_MANAGER = 'trustline';

/** What the writer sends requests through: a RestClient, or a fake of one in unit tests. */
export type Requester = Pick<RestClient, 'request'>;

/** Everything Trustline sets on a derived object: apiVersion, kind, metadata and content. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: Record<string, unknown>[];
  };
  [field: string]: unknown;
}

/** One object Trustline keeps (a bundle or OIDC ConfigMap, a ClusterTrustBundle, an SVID Secret). */
export interface DerivedObject {
  resource: ResourceType;
  manifest: Manifest;
  /** Whether an object of this name in the cluster is Trustline's own copy, and so its to write. */
  owns: (object: KubeObject) => boolean;
  /**
   * Keys Trustline takes away when it no longer sets them: every key of `data` (a withdrawn SVID, a
   * JWT no longer wanted, a tenant's addition to a bundle), and the annotations this names.
   */
  removable?: { data?: boolean; annotations?: (key: string) => boolean };
}

/**
 * What a write did. `replaced` is the resourceVersion written over ('' for a create), for callers
 * that wait until their cache has seen the write.
 */
export type ApplyOutcome =
  | { kind: 'unchanged' }
  | { kind: 'written'; replaced: string }
  | { kind: 'foreign' }
  /** Only with `create: false`: no object of the name is left to write. */
  | { kind: 'gone' };

/**
 * What the caller knows of the object of this name: the cached object itself, or (from a plan that
 * already compared content) the uid and resourceVersion of Trustline's own copy, which differs.
 */
export type Known = KubeObject | { uid: string; resourceVersion: string };

export interface ApplyOptions {
  /** Whether to create the object when none exists (false for a copy only being emptied). */
  create?: boolean;
  /** Told the object as the apiserver returned it from the last write: what it confirmed. */
  onWritten?: (written: KubeObject) => void;
}

const confirm = (response: unknown, onWritten: ApplyOptions['onWritten']) => {
  const written = kubeObjectSchema.safeParse(response);
  if (written.success) onWritten?.(written.data);
};

const appliedSchema = z.looseObject({
  metadata: objectMetaSchema,
  data: z.record(z.string(), z.string()).optional(),
});

/** The same fields of `object` as `shape` has, with arrays matched element by element. */
function project(shape: unknown, object: unknown): unknown {
  if (Array.isArray(shape)) {
    if (!Array.isArray(object) || object.length !== shape.length) return object;
    return shape.map((element, index) => project(element, object[index]));
  }
  if (typeof shape !== 'object' || shape === null) return object;
  if (typeof object !== 'object' || object === null || Array.isArray(object)) return object;
  const fields = new Map(Object.entries(object));
  return Object.fromEntries(
    Object.entries(shape).map(([key, value]) => [key, project(value, fields.get(key))]),
  );
}

/** Sorted-key JSON, so equal content hashes alike whatever order the apiserver sent its keys in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).filter(([, field]) => field !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, field]) => `${JSON.stringify(key)}:${canonical(field)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export const contentHash = (value: unknown): string =>
  createHash('sha256').update(canonical(value)).digest('hex');

/** Keys of `object` Trustline would take away: removable and not in the manifest. */
function strayKeys(target: DerivedObject, object: unknown): { data: string[]; annotations: string[] } {
  const parsed = appliedSchema.safeParse(object).data;
  const wantedData = new Set(
    Object.keys(z.record(z.string(), z.unknown()).catch({}).parse(target.manifest.data)),
  );
  const wantedAnnotations = new Set(Object.keys(target.manifest.metadata.annotations ?? {}));
  const isRemovable = target.removable?.annotations ?? (() => false);
  return {
    data: target.removable?.data ? Object.keys(parsed?.data ?? {}).filter((key) => !wantedData.has(key)) : [],
    annotations: Object.keys(parsed?.metadata.annotations ?? {}).filter(
      (key) => isRemovable(key) && !wantedAnnotations.has(key),
    ),
  };
}

/** Whether applying the manifest would change nothing Trustline sets on `object`, nor take anything away. */
export function unchanged(target: DerivedObject, object: KubeObject): boolean {
  const stray = strayKeys(target, object);
  if (stray.data.length > 0 || stray.annotations.length > 0) return false;
  // The path names the kind; the items of a list, as the cache holds them, carry no apiVersion or kind.
  const { apiVersion: _version, kind: _kind, ...content } = target.manifest;
  return contentHash(project(content, object)) === contentHash(content);
}

const pointer = (...segments: string[]) =>
  segments.map((segment) => `/${segment.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');

const pathOf = (target: DerivedObject) =>
  objectPath(target.resource, target.manifest.metadata.name, target.manifest.metadata.namespace);

/**
 * Server-side apply over the object of `uid`, then the removal of stray keys. The uid in the body is a
 * precondition: an object deleted, or made again under the name by a tenant, is refused (409, or 422
 * for the immutable uid), never written over. `force` is the conflict policy: fields Trustline sets are Trustline's, so a
 * tenant's edit of them is put back; fields it does not set (a tenant's extra label) are left. Keys
 * that another field manager holds (copies the previous version wrote with PUT) survive an apply that
 * omits them, so a JSON patch, tested against the same uid, takes them away.
 */
async function update(
  client: Requester,
  target: DerivedObject,
  uid: string,
  onWritten: ApplyOptions['onWritten'],
): Promise<void> {
  const path = pathOf(target);
  const body = { ...target.manifest, metadata: { ...target.manifest.metadata, uid } };
  const applied = await client.request('PATCH', path, {
    query: { fieldManager: FIELD_MANAGER, force: true },
    contentType: 'application/apply-patch+yaml',
    body,
  });
  const stray = strayKeys(target, applied);
  if (stray.data.length === 0 && stray.annotations.length === 0) return confirm(applied, onWritten);
  const patched = await client.request('PATCH', path, {
    query: { fieldManager: FIELD_MANAGER },
    contentType: 'application/json-patch+json',
    body: [
      { op: 'test', path: '/metadata/uid', value: uid },
      ...stray.data.map((key) => ({ op: 'remove', path: pointer('data', key) })),
      ...stray.annotations.map((key) => ({ op: 'remove', path: pointer('metadata', 'annotations', key) })),
    ],
  });
  confirm(patched, onWritten);
}

/** Brings one found object to the manifest, when it is Trustline's: the decision after a 409. */
async function settle(
  client: Requester,
  target: DerivedObject,
  found: KubeObject,
  onWritten: ApplyOptions['onWritten'],
): Promise<ApplyOutcome> {
  if (!target.owns(found)) return { kind: 'foreign' };
  if (unchanged(target, found)) return { kind: 'unchanged' };
  await update(client, target, found.metadata.uid ?? '', onWritten);
  return { kind: 'written', replaced: found.metadata.resourceVersion ?? '' };
}

async function fetchCurrent(client: Requester, target: DerivedObject): Promise<KubeObject | undefined> {
  try {
    return kubeObjectSchema.parse(await client.request('GET', pathOf(target)));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * The one create-or-update of the objects Trustline derives. `cached` is the object of this name the
 * cache holds, if any. None: a create-only POST; on 409 the object is read once and written only if it
 * is Trustline's own, else reported foreign. One Trustline owns: nothing is sent when it already
 * matches, else an apply under its uid; refused as replaced (deleted, or someone else's now) the object is
 * read once and the same decision made. A write the apiserver refuses otherwise is thrown.
 */
export async function applyDerived(
  client: Requester,
  target: DerivedObject,
  cached: Known | undefined,
  { create = true, onWritten }: ApplyOptions = {},
): Promise<ApplyOutcome> {
  if (cached !== undefined) {
    const { uid, resourceVersion } = 'metadata' in cached ? cached.metadata : cached;
    if ('metadata' in cached) {
      if (!target.owns(cached)) return { kind: 'foreign' };
      if (unchanged(target, cached)) return { kind: 'unchanged' };
    }
    try {
      await update(client, target, uid ?? '', onWritten);
      return { kind: 'written', replaced: resourceVersion ?? '' };
    } catch (error) {
      if (!isReplaced(error)) throw error;
    }
    const found = await fetchCurrent(client, target);
    if (found !== undefined) return settle(client, target, found, onWritten);
  }
  if (!create) return { kind: 'gone' };
  const { namespace } = target.manifest.metadata;
  try {
    const created = await client.request('POST', collectionPath(target.resource, namespace), {
      query: { fieldManager: FIELD_MANAGER },
      body: target.manifest,
    });
    confirm(created, onWritten);
    return { kind: 'written', replaced: '' };
  } catch (error) {
    if (!isConflict(error)) throw error;
  }
  // A copy the cache has not seen yet, or someone else's object: only the object itself can tell.
  const found = await fetchCurrent(client, target);
  if (found === undefined) {
    throw new KubeApiError(409, 'Conflict', `${pathOf(target)} was refused as existing, then not found`);
  }
  return settle(client, target, found, onWritten);
}
