import { inject } from 'vitest';
import { z } from 'zod';
import { CERTIFICATES_GROUP, collectionPath, coreResources, objectPath } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import { NodeRequester, podCertificateRequestsV1, podWithCertificateVolume } from '../fixtures/kubelet.ts';
import { waitFor } from './support.ts';

/** Shared steps of the projected-volume tests: nodes, pods, and requests made as a node. */

export const CTB_V1 = {
  group: CERTIFICATES_GROUP,
  version: 'v1',
  plural: 'clustertrustbundles',
  namespaced: false,
};

const uidSchema = z.object({ metadata: z.looseObject({ uid: z.string() }) });

export async function createNode(client: RestClient, name: string): Promise<string> {
  const node = await client.request(
    'POST',
    collectionPath({ group: '', version: 'v1', plural: 'nodes', namespaced: false }),
    {
      body: { apiVersion: 'v1', kind: 'Node', metadata: { name } },
    },
  );
  return uidSchema.parse(node).metadata.uid;
}

export async function createServiceAccount(
  client: RestClient,
  namespace: string,
  name: string,
): Promise<string> {
  const account = await client.request('POST', collectionPath(coreResources.serviceAccounts, namespace), {
    body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } },
  });
  return uidSchema.parse(account).metadata.uid;
}

/** A pod bound to `nodeName` that mounts a podCertificate volume and the signer's ClusterTrustBundle. */
export async function createPod(
  client: RestClient,
  namespace: string,
  pod: Parameters<typeof podWithCertificateVolume>[0],
): Promise<string> {
  const created = await client.request('POST', collectionPath(coreResources.pods, namespace), {
    body: podWithCertificateVolume(pod),
  });
  return uidSchema.parse(created).metadata.uid;
}

/**
 * The scene the signer tests play in: two nodes, ServiceAccounts web and other, and on the first node
 * pods web-0 (labelled app=web, running as web) and other-0 (as other), both mounting the signer.
 */
export async function createPodScene(
  client: RestClient,
  namespace: string,
  signerName: string,
  [nodeA, nodeB]: readonly [string, string],
) {
  const uids = {
    nodeA: await createNode(client, nodeA),
    nodeB: await createNode(client, nodeB),
    web: await createServiceAccount(client, namespace, 'web'),
    other: await createServiceAccount(client, namespace, 'other'),
  };
  const pod = (name: string, serviceAccount: string, labels?: Record<string, string>) =>
    createPod(client, namespace, { name, serviceAccount, nodeName: nodeA, signerName, labels });
  return {
    ...uids,
    webPod: await pod('web-0', 'web', { app: 'web' }),
    otherPod: await pod('other-0', 'other'),
  };
}

/** Creates a PodCertificateRequest as the kubelet of `asNode` would; the apiserver's refusal is thrown. */
export async function createRequestAsNode(
  asNode: string,
  namespace: string,
  spec: Record<string, unknown>,
): Promise<string> {
  const requester = await NodeRequester.open(inject('kubeconfig'), asNode);
  try {
    return await requester.create(namespace, { generateName: `${String(spec.podName)}-` }, spec);
  } finally {
    await requester.close();
  }
}

export const requestSchema = z.looseObject({
  status: z
    .looseObject({
      conditions: z
        .array(
          z.looseObject({ type: z.string(), status: z.string(), reason: z.string(), message: z.string() }),
        )
        .optional(),
      certificateChain: z.string().optional(),
      notBefore: z.string().optional(),
      beginRefreshAt: z.string().optional(),
      notAfter: z.string().optional(),
    })
    .optional(),
});

/** Waits until Trustline has issued, denied or failed the request. */
export function waitForAnswer(client: RestClient, namespace: string, name: string) {
  return waitFor(`an answer to PodCertificateRequest ${namespace}/${name}`, async () => {
    const request = requestSchema.parse(
      await client.request('GET', objectPath(podCertificateRequestsV1, name, namespace)),
    );
    const answered = request.status?.conditions?.find((c) => ['Issued', 'Denied', 'Failed'].includes(c.type));
    return answered ? { ...request.status, answer: answered } : undefined;
  });
}

export const certificatesIn = (pem: string): string[] =>
  pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
