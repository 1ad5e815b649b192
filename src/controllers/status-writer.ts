import { isDeepStrictEqual } from 'node:util';
import { baseStatusSchema } from '../api/meta.ts';
import { type DesiredCondition, setCondition } from '../core/conditions.ts';
import { type KubeObject, kubeObjectSchema } from '../kube/informer.ts';
import { objectPath, type ResourceType } from '../kube/resources.ts';
import type { RestClient } from '../kube/rest.ts';

const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value ?? {}));

const conditionsOf = (status: unknown) => baseStatusSchema.safeParse(status).data?.conditions;

/**
 * Patches an object's status to `fields` plus the given conditions, and writes nothing when a reader
 * would see no difference. Status has one writer per object (the work queue never runs a key twice at
 * once), so the patch carries no resourceVersion and a stale cache costs a redundant write, not an error.
 */
export async function writeStatus(
  client: Pick<RestClient, 'request'>,
  resource: ResourceType,
  object: KubeObject,
  fields: Record<string, unknown>,
  conditions: readonly DesiredCondition[],
  now: Date,
  /** Told the object as the apiserver returned it, when a patch was sent. */
  onWritten?: (written: KubeObject) => void,
): Promise<boolean> {
  const current = object.status;
  const generation = object.metadata.generation;
  let merged = conditionsOf(current);
  for (const condition of conditions) merged = setCondition(merged, condition, now, generation);
  const desired = plain({
    ...(typeof current === 'object' && current !== null ? current : {}),
    ...fields,
    observedGeneration: generation,
    conditions: merged,
  });
  if (isDeepStrictEqual(plain(current), desired)) return false;
  const response = await client.request(
    'PATCH',
    `${objectPath(resource, object.metadata.name, object.metadata.namespace)}/status`,
    { contentType: 'application/merge-patch+json', body: { status: desired } },
  );
  const written = kubeObjectSchema.safeParse(response);
  if (written.success) onWritten?.(written.data);
  return true;
}

/** Writes an object's status and conditions; whether anything changed. */
export type StatusWriter = (
  object: KubeObject,
  fields: Record<string, unknown>,
  conditions: readonly DesiredCondition[],
  now: Date,
) => Promise<boolean>;

/** writeStatus bound to one client and resource: what a reconciler is given to write its status. */
export const statusWriter =
  (client: RestClient, resource: ResourceType): StatusWriter =>
  (object, fields, conditions, now) =>
    writeStatus(client, resource, object, fields, conditions, now);
