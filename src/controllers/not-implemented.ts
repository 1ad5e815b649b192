import type { z } from 'zod';
import { type KindDefinition, objectSchema } from '../api/kind.ts';
import { baseStatusSchema } from '../api/meta.ts';
import { describeIssues } from '../api/validation.ts';
import { conditionHolds, type DesiredCondition, setCondition } from '../core/conditions.ts';
import type { Informer } from '../kube/informer.ts';
import { objectPath, trustlineResource } from '../kube/resources.ts';
import type { RestClient } from '../kube/rest.ts';
import type { ReconcileResult } from '../kube/workqueue.ts';

/**
 * The reconciler of a kind whose behaviour has not landed yet: it validates the object and reports,
 * through `Ready`, either the invalid fields or that the kind is not implemented. Idempotent: it writes
 * only when the condition or observedGeneration would change.
 */
export function notImplementedReconciler(
  definition: KindDefinition<z.ZodType, z.ZodType>,
  informer: Informer,
  client: RestClient,
  now: () => Date,
): (key: string) => Promise<ReconcileResult> {
  const schema = objectSchema(definition);
  const resource = trustlineResource(definition);
  return async (key) => {
    const object = informer.get(key);
    if (!object) return undefined;
    const parsed = schema.safeParse(object);
    const desired: DesiredCondition = parsed.success
      ? {
          type: 'Ready',
          status: 'False',
          reason: 'NotImplemented',
          message: `this version of Trustline does not reconcile ${definition.kind} objects yet`,
        }
      : { type: 'Ready', status: 'False', reason: 'InvalidSpec', message: describeIssues(parsed.error) };
    const generation = object.metadata.generation;
    const conditions = baseStatusSchema.safeParse(object.status).data?.conditions;
    if (conditionHolds(conditions, desired, generation)) return undefined;
    await client.request(
      'PATCH',
      `${objectPath(resource, object.metadata.name, object.metadata.namespace)}/status`,
      {
        contentType: 'application/merge-patch+json',
        body: {
          metadata: { resourceVersion: object.metadata.resourceVersion },
          status: {
            observedGeneration: generation,
            conditions: setCondition(conditions, desired, now(), generation),
          },
        },
      },
    );
    return undefined;
  };
}
