import type { z } from 'zod';
import type { KubeObject } from './informer.ts';

/**
 * A schema's reading of cached objects, made once per object: an informer replaces an object on
 * every change and never alters one, so a scan that reads every entry and Secret for each reconcile
 * parses only what changed since the last. Callers treat the result as read-only, as it is shared.
 */
export function cachedParse<S extends z.ZodType>(
  schema: S,
): (object: KubeObject | undefined) => z.output<S> | undefined {
  const parsed = new WeakMap<KubeObject, { data: z.output<S> | undefined }>();
  return (object) => {
    if (object === undefined) return undefined;
    let known = parsed.get(object);
    if (!known) {
      known = { data: schema.safeParse(object).data };
      parsed.set(object, known);
    }
    return known.data;
  };
}
