import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { KubeApiError } from '../kube/errors.ts';
import { collectionPath, type ResourceType } from '../kube/resources.ts';
import { RestClient } from '../kube/rest.ts';
import { CliError } from './errors.ts';
import { fileErrorMessage } from './files.ts';

/** The CLI's one way into the cluster: read-only, each request bounded in time. */
export interface Cluster {
  get: (path: string) => Promise<unknown>;
  /** Every item of a collection, across all namespaces for a namespaced resource. */
  list: (resource: ResourceType) => Promise<unknown[]>;
}

/** A CLI waits for people: a stalled apiserver fails the command rather than hanging it. */
const REQUEST_TIMEOUT_MS = 30_000;

const listSchema = z.object({ items: z.array(z.unknown()) });

/**
 * Without any kubeconfig, client-node falls back to http://localhost:8080 and fails later with a
 * message about TLS; naming the missing kubeconfig tells people what to do.
 */
const hasDefaultConfig = (): boolean =>
  process.env.KUBECONFIG !== undefined ||
  process.env.KUBERNETES_SERVICE_HOST !== undefined ||
  existsSync(join(homedir(), '.kube', 'config'));

/** @kubernetes/client-node takes a second to load, so only commands that read the cluster load it. */
async function loadKubeConfig(path: string | undefined) {
  if (path === undefined && !hasDefaultConfig()) {
    throw new CliError('no kubeconfig: set KUBECONFIG or pass --kubeconfig <path>');
  }
  const { KubeConfig } = await import('@kubernetes/client-node');
  const config = new KubeConfig();
  try {
    if (path === undefined) config.loadFromDefault();
    else config.loadFromFile(path);
  } catch (error) {
    throw new CliError(
      `cannot load the kubeconfig: ${fileErrorMessage(path ?? process.env.KUBECONFIG ?? 'default', error)}`,
    );
  }
  return config;
}

/** KubeApiErrors say what the apiserver answered; anything else means it was not reached. */
const unreachable = (server: string, error: unknown): unknown =>
  error instanceof KubeApiError
    ? error
    : new CliError(`cannot reach the cluster at ${server}`, { cause: error });

/** Connects with `kubeconfig`, or KUBECONFIG and the usual defaults, and closes again after `use`. */
export async function withCluster<T>(
  kubeconfig: string | undefined,
  use: (cluster: Cluster) => Promise<T>,
): Promise<T> {
  const config = await loadKubeConfig(kubeconfig);
  let client: RestClient;
  try {
    client = await RestClient.fromKubeConfig(config);
  } catch (error) {
    throw new CliError('cannot use the kubeconfig', { cause: error });
  }
  const get = async (path: string) => {
    try {
      return await client.request('GET', path, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    } catch (error) {
      throw unreachable(client.server, error);
    }
  };
  const cluster: Cluster = {
    get,
    list: async (resource) => {
      const list = listSchema.safeParse(await get(collectionPath(resource)));
      if (!list.success) throw new CliError(`the apiserver sent no list of ${resource.plural}`);
      return list.data.items;
    },
  };
  try {
    return await use(cluster);
  } finally {
    await client.close();
  }
}
