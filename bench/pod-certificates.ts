import { z } from 'zod';
import type { RunningControlPlane } from '../hack/controlplane/cluster.ts';
import { API_VERSION, SIGNER_DOMAIN } from '../src/api/group.ts';
import { registrationEntryKind } from '../src/api/registrationentry.ts';
import { trustDomainKind } from '../src/api/trustdomain.ts';
import { TERMINAL_CONDITIONS } from '../src/controllers/podcertificate/request.ts';
import { isNotFound } from '../src/kube/errors.ts';
import { Informer } from '../src/kube/informer.ts';
import {
  collectionPath,
  coreResources,
  objectPath,
  type ResourceType,
  trustlineResource,
} from '../src/kube/resources.ts';
import type { RestClient } from '../src/kube/rest.ts';
import { createLogger } from '../src/observability/logger.ts';
import {
  kubeletKey,
  NodeRequester,
  podCertificateRequestsV1,
  podWithCertificateVolume,
} from '../test/fixtures/kubelet.ts';
import { type BenchOperator, startRun, until } from './operator.ts';
import { ms, percentile } from './stats.ts';

const PODS = 20;
const WARMUP = 5;
const SEQUENTIAL = 50;
const BURST = 200;

const nodes: ResourceType = { group: '', version: 'v1', plural: 'nodes', namespaced: false };
const trustDomains = trustlineResource(trustDomainKind);
const entries = trustlineResource(registrationEntryKind);

const uidSchema = z.object({ metadata: z.looseObject({ uid: z.string() }) });
const conditionsSchema = z
  .array(
    z.looseObject({
      type: z.string(),
      status: z.string(),
      reason: z.string().optional(),
      message: z.string().optional(),
    }),
  )
  .optional();
const requestStatusSchema = z.looseObject({
  metadata: z.looseObject({ name: z.string() }),
  status: z.looseObject({ conditions: conditionsSchema, certificateChain: z.string().optional() }).optional(),
});
const readySchema = z.looseObject({
  metadata: z.looseObject({ generation: z.int().optional() }),
  status: z
    .looseObject({
      observedGeneration: z.int().optional(),
      conditions: conditionsSchema,
      pods: z.looseObject({ selected: z.int(), served: z.int() }).optional(),
    })
    .optional(),
});

export interface PodCertificateBench {
  /** Each of the sequential requests, from just before its POST to its answer in the watch cache. */
  sequentialMs: number[];
  burst: {
    /** From the first POST until the last answer is in the watch cache. */
    totalMs: number;
    /** From the first POST until the apiserver had answered every POST. */
    createMs: number;
  };
}

interface Answer {
  /** performance.now() when the watch delivered the request with a terminal condition. */
  at: number;
  type: string;
  reason: string;
  message: string;
  chain: string;
}

/**
 * From a PodCertificateRequest's creation to its Issued status: the operator (started here as a child
 * process) signs for `trustline.dev/<TrustDomain>`; twenty pods on one Node run as a ServiceAccount one
 * RegistrationEntry selects, and the requests are made as that node. Answers are seen through a watch on
 * the namespace's requests (a list/watch Informer), stamped when its handler sees the terminal condition.
 * Fifty requests one after another, then two hundred at once spread over the pods.
 */
export async function measurePodCertificates(
  client: RestClient,
  controlPlane: RunningControlPlane,
  log: (message: string) => void,
): Promise<PodCertificateBench> {
  const run = `pcr-${Date.now().toString(36)}`;
  const operatorNamespace = `${run}-system`;
  const namespace = `${run}-apps`;
  const node = `${run}-node`;
  const signerName = `${SIGNER_DOMAIN}/${run}`;
  const post = (path: string, body: unknown) => client.request('POST', path, { body });

  const cleanup: { what: string; step: () => Promise<unknown> }[] = [];
  let operator: BenchOperator | undefined;
  let requests: Informer | undefined;
  let requester: NodeRequester | undefined;
  try {
    ({ operator } = await startRun(client, controlPlane, run, log));
    const running = operator;
    const alive = () => running.assertRunning();

    await post(collectionPath(trustDomains), {
      apiVersion: API_VERSION,
      kind: 'TrustDomain',
      metadata: { name: run },
      spec: { trustDomain: `${run}.example.org` },
    });
    cleanup.push({
      what: `TrustDomain ${run}`,
      step: () => deleteAndWait(client, objectPath(trustDomains, run)),
    });
    const nodeUID = uidSchema.parse(
      await post(collectionPath(nodes), { apiVersion: 'v1', kind: 'Node', metadata: { name: node } }),
    ).metadata.uid;
    const serviceAccountUID = uidSchema.parse(
      await post(collectionPath(coreResources.serviceAccounts, namespace), {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'web' },
      }),
    ).metadata.uid;
    const pods: { name: string; uid: string }[] = [];
    for (let i = 0; i < PODS; i += 1) {
      const name = `web-${i}`;
      const created = await post(
        collectionPath(coreResources.pods, namespace),
        podWithCertificateVolume({
          name,
          serviceAccount: 'web',
          nodeName: node,
          signerName,
          labels: { app: 'web' },
        }),
      );
      pods.push({ name, uid: uidSchema.parse(created).metadata.uid });
    }

    log('waiting for the TrustDomain to be Ready');
    await until(`TrustDomain ${run} Ready`, async () => {
      alive();
      const object = readySchema.parse(await client.request('GET', objectPath(trustDomains, run)));
      const ready = object.status?.conditions?.find((condition) => condition.type === 'Ready');
      return object.status?.observedGeneration === object.metadata.generation && ready?.status === 'True';
    });
    await post(collectionPath(entries, namespace), {
      apiVersion: API_VERSION,
      kind: 'RegistrationEntry',
      metadata: { name: 'web' },
      spec: {
        trustDomainRef: { name: run },
        spiffeIDPath: '/ns/{namespace}/sa/{serviceAccount}/pod/{podName}',
        workloadSelector: { serviceAccountName: 'web' },
        x509: { ttl: '2h' },
      },
    });
    await until(`RegistrationEntry web to serve all ${PODS} pods`, async () => {
      alive();
      const entry = readySchema.parse(await client.request('GET', objectPath(entries, 'web', namespace)));
      const ready = entry.status?.conditions?.find((condition) => condition.type === 'Ready');
      return (
        entry.status?.observedGeneration === entry.metadata.generation &&
        ready?.status === 'True' &&
        ready.reason === 'ServingPods' &&
        entry.status?.pods?.served === PODS
      );
    });

    // Every answer as the watch delivers it, whether or not a create is waiting for it yet.
    const answers = new Map<string, Answer>();
    const waiting = new Map<string, (answer: Answer) => void>();
    requests = new Informer(client, {
      resource: podCertificateRequestsV1,
      namespace,
      log: createLogger('warn'),
      onChange: (change, object) => {
        const at = performance.now();
        if (change === 'deleted') return;
        const request = requestStatusSchema.safeParse(object).data;
        const name = request?.metadata.name ?? '';
        if (!request || answers.has(name)) return;
        const condition = request.status?.conditions?.find(
          (c) => (TERMINAL_CONDITIONS as readonly string[]).includes(c.type) && c.status === 'True',
        );
        if (!condition) return;
        const answer = {
          at,
          type: condition.type,
          reason: condition.reason ?? '',
          message: condition.message ?? '',
          chain: request.status?.certificateChain ?? '',
        };
        answers.set(name, answer);
        waiting.get(name)?.(answer);
        waiting.delete(name);
      },
    });
    await requests.start();
    const answerTo = async (name: string, timeoutMs = 120_000): Promise<Answer> => {
      const known = answers.get(name);
      const answer =
        known ??
        (await new Promise<Answer | undefined>((resolve) => {
          const timer = setTimeout(() => resolve(undefined), timeoutMs);
          waiting.set(name, (value) => {
            clearTimeout(timer);
            resolve(value);
          });
        }));
      if (!answer)
        throw new Error(`no answer to PodCertificateRequest ${namespace}/${name} in ${timeoutMs} ms`);
      if (answer.type !== 'Issued' || !answer.chain) {
        throw new Error(
          `PodCertificateRequest ${namespace}/${name} ended ${answer.type} (${answer.reason}): ${answer.message || 'no certificateChain'}`,
        );
      }
      return answer;
    };

    requester = await NodeRequester.open(controlPlane.kubeconfig, node);
    const nodeClient = requester;
    const total = WARMUP + SEQUENTIAL + BURST;
    log(`making ${total} kubelet keys and PKCS#10 requests`);
    const csrs = await Promise.all(
      Array.from({ length: total }, async () => (await kubeletKey()).csr.toString('base64')),
    );
    let made = 0;
    const create = (name: string, i: number) => {
      const pod = pods[i % PODS] ?? { name: '', uid: '' };
      const csr = csrs[made++] ?? '';
      return nodeClient.create(
        namespace,
        { name: `${pod.name}-${name}` },
        {
          signerName,
          podName: pod.name,
          podUID: pod.uid,
          serviceAccountName: 'web',
          serviceAccountUID,
          nodeName: node,
          nodeUID,
          maxExpirationSeconds: 86_400,
          stubPKCS10Request: csr,
        },
      );
    };
    const nameOf = (name: string, i: number) => `${pods[i % PODS]?.name}-${name}`;

    log(`timing ${SEQUENTIAL} PodCertificateRequests one after another (after ${WARMUP} warm-up requests)`);
    for (let i = 0; i < WARMUP; i += 1) {
      await create(`warmup-${i}`, i);
      await answerTo(nameOf(`warmup-${i}`, i));
    }
    const sequentialMs: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i += 1) {
      const sent = performance.now();
      await create(`seq-${i}`, i);
      sequentialMs.push((await answerTo(nameOf(`seq-${i}`, i))).at - sent);
    }

    log(`creating ${BURST} PodCertificateRequests at once over ${PODS} pods`);
    const indices = Array.from({ length: BURST }, (_, i) => i);
    const start = performance.now();
    const created = Promise.all(indices.map((i) => create(`burst-${i}`, i)));
    const settled = Promise.all(indices.map((i) => answerTo(nameOf(`burst-${i}`, i))));
    // Neither rejection may go unhandled while the other is awaited.
    settled.catch(() => {});
    await created;
    const createMs = performance.now() - start;
    const issued = await settled;
    const totalMs = Math.max(...issued.map((answer) => answer.at)) - start;
    return { sequentialMs, burst: { totalMs, createMs } };
  } finally {
    await requests?.stop().catch(() => {});
    await requester?.close().catch(() => {});
    // Pods bound to a node without a kubelet never finish a graceful delete: force them out first.
    cleanup.unshift(
      {
        what: 'RegistrationEntry web',
        step: () => deleteAndWait(client, objectPath(entries, 'web', namespace)),
      },
      {
        what: `the pods of ${namespace}`,
        step: () =>
          client.request('DELETE', collectionPath(coreResources.pods, namespace), {
            query: { gracePeriodSeconds: 0 },
          }),
      },
    );
    cleanup.push(
      {
        what: `Namespace ${namespace}`,
        step: () => deleteAndWait(client, objectPath(coreResources.namespaces, namespace)),
      },
      { what: `Node ${node}`, step: () => deleteAndWait(client, objectPath(nodes, node)) },
      { what: 'the operator', step: async () => operator?.stop() },
      {
        what: `Namespace ${operatorNamespace}`,
        step: () => deleteAndWait(client, objectPath(coreResources.namespaces, operatorNamespace)),
      },
    );
    for (const { what, step } of cleanup) {
      await step().catch((error: unknown) =>
        log(`cleanup: could not remove ${what}: ${error instanceof Error ? error.message : String(error)}`),
      );
    }
  }
}

/** Deletes an object and waits until the apiserver no longer has it (finalizers done). */
async function deleteAndWait(client: RestClient, path: string, timeoutMs = 120_000): Promise<void> {
  try {
    await client.request('DELETE', path);
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  await until(
    `${path} to go`,
    async () => {
      try {
        await client.request('GET', path);
        return false;
      } catch (error) {
        if (isNotFound(error)) return true;
        throw error;
      }
    },
    timeoutMs,
  );
}

export function reportPodCertificates({ sequentialMs, burst }: PodCertificateBench): string[] {
  return [
    `PodCertificateRequest created (as the node) → Issued in the watch cache, one at a time (${sequentialMs.length}): p50 ${ms(percentile(sequentialMs, 50))}, p95 ${ms(percentile(sequentialMs, 95))}, max ${ms(Math.max(...sequentialMs))}`,
    `${BURST} PodCertificateRequests created at once over ${PODS} pods → every one Issued: total ${ms(burst.totalMs)} (the creates alone took ${ms(burst.createMs)}), ${((BURST * 1000) / burst.totalMs).toFixed(0)} issued/s`,
  ];
}
