import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { x509 } from '../../src/core/authorities/x509.ts';
import { clusterTrustBundleName } from '../../src/core/bundle/cluster-trust-bundle.ts';
import { KubeApiError } from '../../src/kube/errors.ts';
import { objectPath } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import { kubeletKey } from '../fixtures/kubelet.ts';
import { createKeyRevocation, readyMessage, waitForRevocation } from './key-revocations.ts';
import {
  CTB_V1,
  certificatesIn,
  createPodScene,
  createRequestAsNode,
  waitForAnswer,
} from './pod-certificates.ts';
import { createEntry, entries, opensslVerifyStrict, waitForEntry } from './registration-entries.ts';
import { connectWithCrds, OperatorProcess, uniqueName, waitFor } from './support.ts';
import {
  activeX509,
  createNamespace,
  createTrustDomain,
  deleteTrustDomains,
  readJournal,
  waitForReady,
} from './trust-domains.ts';

const trustBundleSchema = z.object({ spec: z.object({ signerName: z.string(), trustBundle: z.string() }) });

describe('Trustline as a PodCertificateRequest signer (certificates.k8s.io/v1, Node authorizer and NodeRestriction on)', () => {
  let client: RestClient;
  let operator: OperatorProcess;
  const tdName = uniqueName('pods');
  const trustDomain = `${tdName}.test`;
  const signerName = `trustline.dev/${tdName}`;
  const namespace = uniqueName('shop');
  const operatorNamespace = `${namespace}-system`;
  const [nodeA, nodeB] = [uniqueName('node-a'), uniqueName('node-b')];
  const ids = { nodeA: '', nodeB: '', web: '', other: '', webPod: '', otherPod: '' };

  const request = async (node: string, pod: 'web-0' | 'other-0', extra: Record<string, unknown> = {}) => {
    const key = await kubeletKey();
    const name = await createRequestAsNode(node, namespace, {
      signerName,
      podName: pod,
      podUID: pod === 'web-0' ? ids.webPod : ids.otherPod,
      serviceAccountName: pod === 'web-0' ? 'web' : 'other',
      serviceAccountUID: pod === 'web-0' ? ids.web : ids.other,
      nodeName: nodeA,
      nodeUID: ids.nodeA,
      maxExpirationSeconds: 86_400,
      stubPKCS10Request: key.csr.toString('base64'),
      ...extra,
    });
    return { name, key };
  };
  const readTrustBundle = async () =>
    trustBundleSchema.parse(
      await client.request('GET', objectPath(CTB_V1, clusterTrustBundleName(signerName))),
    );

  beforeAll(async () => {
    client = await connectWithCrds();
    await createNamespace(client, operatorNamespace);
    await createNamespace(client, namespace);
    operator = await OperatorProcess.start({ TRUSTLINE_NAMESPACE: operatorNamespace });
    Object.assign(ids, await createPodScene(client, namespace, signerName, [nodeA, nodeB]));
    await createTrustDomain(client, tdName, { trustDomain });
    await waitForReady(client, tdName, 'True');
    await createEntry(client, namespace, 'web', {
      trustDomainRef: { name: tdName },
      spiffeIDPath: '/ns/{namespace}/sa/{serviceAccount}/pod/{podName}',
      workloadSelector: { serviceAccountName: 'web' },
      x509: { ttl: '2h' },
    });
  }, 120_000);

  afterAll(async () => {
    // The TrustDomain waits for its entries to go before it goes.
    for (const entry of ['web', 'web-late'])
      await client.request('DELETE', objectPath(entries, entry, namespace)).catch(() => {});
    await deleteTrustDomains(client, [tdName]);
    await operator?.stop();
  });

  it('issues a matching pod a chain for its kubelet key that verifies against the ClusterTrustBundle and names the pod', async () => {
    const { name, key } = await request(nodeA, 'web-0');
    const answer = await waitForAnswer(client, namespace, name);
    expect(answer.answer).toMatchObject({ type: 'Issued', status: 'True' });
    const chain = certificatesIn(answer.certificateChain ?? '');
    const leaf = new x509.X509Certificate(chain[0] ?? '');
    const san = leaf.getExtension(x509.SubjectAlternativeNameExtension);
    expect(san?.names.items.map((item) => item.value)).toEqual([
      `spiffe://${trustDomain}/ns/${namespace}/sa/web/pod/web-0`,
    ]);
    const requested = Buffer.from(await crypto.subtle.exportKey('spki', key.keys.publicKey));
    expect(Buffer.from(leaf.publicKey.rawData).equals(requested)).toBe(true);

    const bundle = await waitFor('the signer ClusterTrustBundle', async () =>
      readTrustBundle().catch(() => undefined),
    );
    expect(bundle.spec.signerName).toBe(signerName);
    const verified = await opensslVerifyStrict(
      { 'tls.crt': answer.certificateChain ?? '', 'ca.crt': bundle.spec.trustBundle },
      'sslclient',
    );
    expect(verified.output).toContain('OK');
    expect(verified.ok).toBe(true);

    // The status repeats the certificate's validity; beginRefreshAt lies near the middle.
    expect(Date.parse(answer.notBefore ?? '')).toBe(leaf.notBefore.getTime());
    expect(Date.parse(answer.notAfter ?? '')).toBe(leaf.notAfter.getTime());
    const lifetime = leaf.notAfter.getTime() - leaf.notBefore.getTime();
    const refresh = (Date.parse(answer.beginRefreshAt ?? '') - leaf.notBefore.getTime()) / lifetime;
    expect(refresh).toBeGreaterThanOrEqual(0.44);
    expect(refresh).toBeLessThanOrEqual(0.56);

    const audit = operator
      .entries()
      .find(
        (line) =>
          JSON.stringify(line).includes(`PodCertificateRequest/${namespace}/${name}`) &&
          line.msg === 'signed x509-svid',
      );
    expect(audit, 'an audit record of the signing').toBeDefined();
  });

  it("gives a request that asks for more than the entry allows the entry's lifetime", async () => {
    const { name } = await request(nodeA, 'web-0', { maxExpirationSeconds: 7_862_400 });
    const answer = await waitForAnswer(client, namespace, name);
    const leaf = new x509.X509Certificate(certificatesIn(answer.certificateChain ?? '')[0] ?? '');
    expect(leaf.notAfter.getTime() - leaf.notBefore.getTime()).toBe(2 * 3_600_000);
  });

  it("has the apiserver refuse a request for the pod made as another node's user", async () => {
    const refused = await request(nodeB, 'web-0').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(KubeApiError);
    expect((refused as KubeApiError).status).toBe(403);
    expect((refused as KubeApiError).message).toContain(nodeB);
  });

  it('denies a pod that no entry selects, with the reason', async () => {
    const { name } = await request(nodeA, 'other-0');
    const answer = await waitForAnswer(client, namespace, name);
    expect(answer.answer).toMatchObject({ type: 'Denied', status: 'True', reason: 'NoMatchingEntry' });
    expect(answer.answer.message).toContain(`pod ${namespace}/other-0`);
    expect(answer.certificateChain).toBeUndefined();
  });

  it('lets the oldest entry serve a pod two entries select, and says so in the other entry status', async () => {
    await createEntry(client, namespace, 'web-late', {
      trustDomainRef: { name: tdName },
      spiffeIDPath: '/ns/{namespace}/late/{podName}',
      workloadSelector: { podSelector: { matchLabels: { app: 'web' } } },
    });
    const late = await waitFor('web-late to report web-0 as served by web', async () => {
      const entry = await waitForEntry(client, namespace, 'web-late', 'True', 'ServingPods');
      return entry.status?.pods?.servedByOthers?.length ? entry : undefined;
    });
    expect(late.status?.pods).toMatchObject({
      signerName,
      selected: 1,
      served: 0,
      servedByOthers: [{ pod: 'web-0', entry: 'web' }],
    });
    const web = await waitForEntry(client, namespace, 'web', 'True', 'ServingPods');
    expect(web.status?.pods).toMatchObject({ selected: 1, served: 1 });

    const { name } = await request(nodeA, 'web-0');
    const answer = await waitForAnswer(client, namespace, name);
    const leaf = new x509.X509Certificate(certificatesIn(answer.certificateChain ?? '')[0] ?? '');
    expect(leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.items[0]?.value).toContain(
      '/sa/web/pod/web-0',
    );
  });

  it('takes a revoked authority out of the ClusterTrustBundle', async () => {
    const stored = await readJournal(client, operatorNamespace, trustDomain);
    if (!stored) throw new Error(`no journal for ${trustDomain}`);
    const revoked = activeX509(stored.journal);
    const before = await readTrustBundle();
    expect(before.spec.trustBundle).toContain(revoked.certificate.trim().split('\n')[1]);
    const revocation = uniqueName('leak');
    await createKeyRevocation(client, revocation, {
      trustDomainRef: { name: tdName },
      authority: { kind: 'X509', id: revoked.id },
      reason: 'KeyCompromise',
      gracePeriod: '0s',
    });
    await waitForRevocation(client, revocation, 'Revoked');
    const after = await waitFor('the revoked authority to leave the ClusterTrustBundle', async () => {
      const bundle = await readTrustBundle();
      return bundle.spec.trustBundle.includes(revoked.certificate.trim().split('\n')[1] ?? '')
        ? undefined
        : bundle;
    });
    expect(certificatesIn(after.spec.trustBundle).length).toBeGreaterThan(0);
  });

  it('holds a revocation with a grace period until the pod certificates of the key are past their refresh time', async () => {
    const { name } = await request(nodeA, 'web-0');
    const answer = await waitForAnswer(client, namespace, name);
    expect(answer.answer.type).toBe('Issued');
    const stored = await readJournal(client, operatorNamespace, trustDomain);
    if (!stored) throw new Error(`no journal for ${trustDomain}`);
    const signing = activeX509(stored.journal);
    const revocation = uniqueName('retire');
    await createKeyRevocation(client, revocation, {
      trustDomainRef: { name: tdName },
      authority: { kind: 'X509', id: signing.id },
      reason: 'Superseded',
      gracePeriod: '0s',
    });
    const waiting = await waitFor('the revocation to count the outstanding pod certificate', async () => {
      const object = await waitForRevocation(client, revocation, 'Tainted', 'Reissuing');
      return object.status?.outstandingPodCertificates === 1 ? object : undefined;
    });
    expect(readyMessage(waiting)).toContain(
      '1 in podCertificate volumes wait for their kubelets to refresh them',
    );
    expect(waiting.status?.affectedSVIDs).toBe(1);
    // beginRefreshAt is about an hour away: the key stays in the ClusterTrustBundle meanwhile.
    expect((await readTrustBundle()).spec.trustBundle).toContain(signing.certificate.trim().split('\n')[1]);
  });
});
