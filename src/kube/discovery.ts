import { z } from 'zod';
import { isNotFound } from './errors.ts';
import type { ResourceType } from './resources.ts';
import type { RestClient } from './rest.ts';

const groupSchema = z.object({
  versions: z.array(z.object({ version: z.string() })),
  preferredVersion: z.object({ version: z.string() }).optional(),
});
const resourceListSchema = z.object({
  resources: z.array(z.object({ name: z.string(), namespaced: z.boolean() })),
});

/**
 * Where the apiserver serves each of some resources of one API group, found through discovery: the
 * preferred version if it serves the resource, else the first other version that does. A resource no
 * version serves (a release or feature gate setting without it) is missing from the map. The group and
 * each version are read once, however many resources are asked for.
 */
export async function discoverResources<P extends string>(
  client: RestClient,
  group: string,
  plurals: readonly P[],
): Promise<Map<P, ResourceType>> {
  const found = new Map<P, ResourceType>();
  let served: z.infer<typeof groupSchema>;
  try {
    served = groupSchema.parse(await client.request('GET', `/apis/${group}`));
  } catch (error) {
    if (isNotFound(error)) return found;
    throw error;
  }
  const preferred = served.preferredVersion?.version;
  const versions = [
    ...(preferred === undefined ? [] : [preferred]),
    ...served.versions.map((v) => v.version).filter((version) => version !== preferred),
  ];
  for (const version of versions) {
    if (found.size === plurals.length) break;
    const { resources } = resourceListSchema.parse(await client.request('GET', `/apis/${group}/${version}`));
    for (const plural of plurals) {
      const resource = resources.find((r) => r.name === plural);
      if (resource && !found.has(plural))
        found.set(plural, { group, version, plural, namespaced: resource.namespaced });
    }
  }
  return found;
}
