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
 * Where the apiserver serves a resource of an API group, found through discovery: the preferred version
 * if it serves the resource, else the first other version that does. Undefined when none does, as on a
 * release (or feature gate setting) without it.
 */
export async function discoverResource(
  client: RestClient,
  group: string,
  plural: string,
): Promise<ResourceType | undefined> {
  let served: z.infer<typeof groupSchema>;
  try {
    served = groupSchema.parse(await client.request('GET', `/apis/${group}`));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  const preferred = served.preferredVersion?.version;
  const versions = [
    ...(preferred === undefined ? [] : [preferred]),
    ...served.versions.map((v) => v.version).filter((version) => version !== preferred),
  ];
  for (const version of versions) {
    const { resources } = resourceListSchema.parse(await client.request('GET', `/apis/${group}/${version}`));
    const resource = resources.find((r) => r.name === plural);
    if (resource) return { group, version, plural, namespaced: resource.namespaced };
  }
  return undefined;
}
