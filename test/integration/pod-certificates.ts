import { webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Agent, fetch } from 'undici';
import { inject } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { x509 } from '../../src/core/authorities/x509.ts';
import { KubeApiError } from '../../src/kube/errors.ts';
import { collectionPath, coreResources, objectPath } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import { waitFor } from './support.ts';

/** Shared steps of the projected-volume tests: nodes, pods, and requests made as a node. */

export const PCR_V1 = {
  group: 'certificates.k8s.io',
  version: 'v1',
  plural: 'podcertificaterequests',
  namespaced: true,
};
export const CTB_V1 = {
  group: 'certificates.k8s.io',
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
  const account = await client.request(
    'POST',
    collectionPath({ group: '', version: 'v1', plural: 'serviceaccounts', namespaced: true }, namespace),
    { body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } } },
  );
  return uidSchema.parse(account).metadata.uid;
}

/** A pod bound to `nodeName` that mounts a podCertificate volume and the signer's ClusterTrustBundle. */
export async function createPod(
  client: RestClient,
  namespace: string,
  pod: {
    name: string;
    serviceAccount: string;
    nodeName: string;
    signerName: string;
    labels?: Record<string, string>;
  },
): Promise<string> {
  const created = await client.request('POST', collectionPath(coreResources.pods, namespace), {
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: pod.name, labels: pod.labels ?? {} },
      spec: {
        serviceAccountName: pod.serviceAccount,
        nodeName: pod.nodeName,
        containers: [{ name: 'app', image: 'registry.example/app:1' }],
        volumes: [
          {
            name: 'spiffe',
            projected: {
              sources: [
                {
                  podCertificate: {
                    signerName: pod.signerName,
                    keyType: 'ECDSAP256',
                    maxExpirationSeconds: 86_400,
                    credentialBundlePath: 'credentials.pem',
                  },
                },
                { clusterTrustBundle: { signerName: pod.signerName, labelSelector: {}, path: 'bundle.pem' } },
              ],
            },
          },
        ],
      },
    },
  });
  return uidSchema.parse(created).metadata.uid;
}

export interface NodeKey {
  keys: webcrypto.CryptoKeyPair;
  /** DER PKCS#10, as a kubelet makes it: signed by the pod's new key, with an empty subject. */
  csr: Buffer;
}

export async function makeNodeKey(): Promise<NodeKey> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: algorithm });
  return { keys, csr: Buffer.from(csr.rawData) };
}

const kubeconfigSchema = z.object({
  clusters: z.array(
    z.object({ cluster: z.object({ server: z.string(), 'certificate-authority-data': z.string() }) }),
  ),
  users: z.array(z.object({ user: z.object({ token: z.string() }) })),
});

/**
 * Creates a PodCertificateRequest as the kubelet of `asNode` would: the admin impersonates the node's
 * user and group, so the Node authorizer and NodeRestriction judge it as they judge a kubelet.
 */
export async function createRequestAsNode(
  asNode: string,
  namespace: string,
  spec: Record<string, unknown>,
): Promise<string> {
  const config = kubeconfigSchema.parse(parse(await readFile(inject('kubeconfig'), 'utf8')));
  const cluster = config.clusters[0]?.cluster;
  const token = config.users[0]?.user.token;
  if (!cluster || !token) throw new Error('the test kubeconfig has no cluster or token');
  const agent = new Agent({ connect: { ca: Buffer.from(cluster['certificate-authority-data'], 'base64') } });
  try {
    const response = await fetch(`${cluster.server}${collectionPath(PCR_V1, namespace)}`, {
      method: 'POST',
      dispatcher: agent,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'impersonate-user': `system:node:${asNode}`,
        'impersonate-group': 'system:nodes',
      },
      body: JSON.stringify({
        apiVersion: 'certificates.k8s.io/v1',
        kind: 'PodCertificateRequest',
        metadata: { generateName: `${String(spec.podName)}-` },
        spec,
      }),
    });
    const body = z
      .looseObject({
        metadata: z.looseObject({ name: z.string().optional() }).optional(),
        reason: z.string().optional(),
        message: z.string().optional(),
      })
      .parse(await response.json());
    if (!response.ok) throw new KubeApiError(response.status, body.reason ?? 'Unknown', body.message ?? '');
    return body.metadata?.name ?? '';
  } finally {
    await agent.close();
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
    const request = requestSchema.parse(await client.request('GET', objectPath(PCR_V1, name, namespace)));
    const answered = request.status?.conditions?.find((c) => ['Issued', 'Denied', 'Failed'].includes(c.type));
    return answered ? { ...request.status, answer: answered } : undefined;
  });
}

export const certificatesIn = (pem: string): string[] =>
  pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
