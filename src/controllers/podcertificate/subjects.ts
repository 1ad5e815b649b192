import type { ObservedPod } from '../../core/podcert/plan.ts';
import { isNotFound } from '../../kube/errors.ts';
import type { Informer } from '../../kube/informer.ts';
import { parsePod, serviceAccountSchema } from '../../kube/objects.ts';
import { coreResources, objectPath } from '../../kube/resources.ts';
import type { RestClient } from '../../kube/rest.ts';
import { selectablePod } from './pods.ts';

type Reader = Pick<RestClient, 'request'>;

/** The object at `path`, or undefined when there is none. */
async function getIfExists(client: Reader, path: string): Promise<unknown> {
  try {
    return await client.request('GET', path);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * The pod a PodCertificateRequest names, from the cache when it holds the UID asked for, otherwise from
 * the apiserver (the cache may not have seen it yet); the planner compares the rest.
 */
export async function readPod(
  { client, pods }: { client: Reader; pods: Pick<Informer, 'get'> },
  namespace: string,
  spec: { podName: string; podUID: string; signerName: string },
): Promise<ObservedPod | undefined> {
  const cached = parsePod(pods.get(`${namespace}/${spec.podName}`));
  const pod =
    cached?.metadata.uid === spec.podUID
      ? cached
      : parsePod(await getIfExists(client, objectPath(coreResources.pods, spec.podName, namespace)));
  return (
    pod && {
      facts: selectablePod(pod, spec.signerName),
      nodeName: pod.spec.nodeName,
      deletionTimestamp: pod.metadata.deletionTimestamp,
    }
  );
}

/** Read fresh, not cached: a request's ServiceAccount is checked once per issuance. */
export async function readServiceAccountUid(
  client: Reader,
  namespace: string,
  name: string,
): Promise<string | undefined> {
  const account = await getIfExists(client, objectPath(coreResources.serviceAccounts, name, namespace));
  return serviceAccountSchema.safeParse(account).data?.metadata.uid;
}
