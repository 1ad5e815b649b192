import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { x509 } from '../../src/core/authorities/x509.ts';
import { coreResources, objectPath } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import { kubeletKey, podCertificateRequestsV1 } from '../fixtures/kubelet.ts';
import { certificatesIn, createPod, createPodScene, waitForAnswer } from './pod-certificates.ts';
import {
  createEntry,
  entries,
  opensslVerifyStrict,
  readSecret,
  waitForEntry,
} from './registration-entries.ts';
import { connectWithCrds, kubectl, OperatorProcess, uniqueName } from './support.ts';
import {
  activeX509,
  createNamespace,
  createTrustDomain,
  deleteTrustDomains,
  readJournal,
  waitForReady,
} from './trust-domains.ts';

const NAME_CONSTRAINTS_OID = '2.5.29.30';

/**
 * A hostile tenant against the platform's limits: a namespace owner who may create RegistrationEntries
 * (and, here, PodCertificateRequests, as a mis-granted Role would allow) asks for what the TrustDomain
 * forbids, or for another pod's identity.
 */
describe('a tenant against the TrustDomain limits and the pod binding', () => {
  let client: RestClient;
  let operator: OperatorProcess;
  const tdName = uniqueName('limits');
  const trustDomain = `${tdName}.test`;
  const signerName = `trustline.dev/${tdName}`;
  const tenant = uniqueName('tenant');
  const operatorNamespace = `${tenant}-system`;
  const attacker = `mallory-${tenant}`;
  const [nodeA, nodeB] = [uniqueName('node-a'), uniqueName('node-b')];
  const ids = { nodeA: '', nodeB: '', web: '', other: '', webPod: '', otherPod: '', leavingPod: '' };

  /** Audit records of X.509-SVIDs signed for an entry or a request. */
  const signedFor = (target: string) =>
    operator.entries().filter((line) => line.msg === 'signed x509-svid' && line.for === target);

  /** Creates a PodCertificateRequest as the attacker, a user who is no node: the Node authorizer is out. */
  const requestAsAttacker = async (spec: Record<string, unknown>) => {
    const key = await kubeletKey();
    const body = {
      apiVersion: `${podCertificateRequestsV1.group}/${podCertificateRequestsV1.version}`,
      kind: 'PodCertificateRequest',
      metadata: { generateName: 'forged-', namespace: tenant },
      spec: {
        signerName,
        podName: 'web-0',
        podUID: ids.webPod,
        serviceAccountName: 'web',
        serviceAccountUID: ids.web,
        nodeName: nodeA,
        nodeUID: 'not-checked',
        maxExpirationSeconds: 86_400,
        stubPKCS10Request: key.csr.toString('base64'),
        ...spec,
      },
    };
    const created = await kubectl(
      ['create', `--as=${attacker}`, '-o', 'name', '-f', '-'],
      JSON.stringify(body),
    );
    expect(created.code, created.stderr).toBe(0);
    return created.stdout.trim().split('/').pop() ?? '';
  };

  const setLeavingFinalizers = (finalizers: string[] | null) =>
    kubectl([
      'patch',
      'pod',
      'leaving-0',
      '-n',
      tenant,
      '--type=merge',
      '-p',
      JSON.stringify({ metadata: { finalizers } }),
    ]);

  beforeAll(async () => {
    client = await connectWithCrds();
    await createNamespace(client, operatorNamespace);
    await createNamespace(client, tenant);
    operator = await OperatorProcess.start({ TRUSTLINE_NAMESPACE: operatorNamespace });
    const role = await kubectl([
      'create',
      'role',
      'request-pod-certificates',
      '--verb=create,get',
      '--resource=podcertificaterequests.certificates.k8s.io',
      '-n',
      tenant,
    ]);
    expect(role.code, role.stderr).toBe(0);
    const bound = await kubectl([
      'create',
      'rolebinding',
      'mallory',
      '--role=request-pod-certificates',
      `--user=${attacker}`,
      '-n',
      tenant,
    ]);
    expect(bound.code, bound.stderr).toBe(0);
    Object.assign(ids, await createPodScene(client, tenant, signerName, [nodeA, nodeB]));
    ids.leavingPod = await createPod(client, tenant, {
      name: 'leaving-0',
      serviceAccount: 'web',
      nodeName: nodeA,
      signerName,
    });
    // A finalizer keeps the pod terminating: no kubelet runs here to finish it.
    const held = await setLeavingFinalizers(['trustline.test/hold']);
    expect(held.code, held.stderr).toBe(0);
    expect((await kubectl(['delete', 'pod', 'leaving-0', '-n', tenant, '--wait=false'])).code).toBe(0);

    await createTrustDomain(client, tdName, {
      trustDomain,
      ca: { uriNameConstraint: true },
      svid: { allowedKeyTypes: ['EC-P256'], minX509TTL: '5m', maxX509TTL: '2h' },
    });
    await waitForReady(client, tdName, 'True');
    await createEntry(client, tenant, 'web', {
      trustDomainRef: { name: tdName },
      spiffeIDPath: '/ns/{namespace}/sa/{serviceAccount}',
      workloadSelector: { serviceAccountName: 'web' },
    });
  }, 120_000);

  afterAll(async () => {
    await setLeavingFinalizers(null);
    for (const entry of ['web', 'rsa', 'churn', 'forever', 'rsa-pods'])
      await client.request('DELETE', objectPath(entries, entry, tenant)).catch(() => {});
    await deleteTrustDomains(client, [tdName]);
    await operator?.stop();
  });

  it.each([
    [
      'RSA-4096 under a TrustDomain that allows only EC',
      'rsa',
      { keyType: 'RSA-4096', ttl: '1h' },
      'KeyTypeNotAllowed',
      "x509.keyType asks for RSA-4096, which the TrustDomain's svid.allowedKeyTypes do not allow: use one of EC-P256",
    ],
    [
      '10 s under a floor of 5m',
      'churn',
      { ttl: '10s' },
      'TTLBelowMinimum',
      "x509.ttl 10s is under the TrustDomain's svid.minX509TTL 5m: ask for at least 5m",
    ],
  ])('refuses an entry asking for %s, and signs nothing', async (_, name, x509Spec, reason, message) => {
    await createEntry(client, tenant, name, {
      trustDomainRef: { name: tdName },
      spiffeIDPath: `/ns/${tenant}/${name}`,
      x509: x509Spec,
      secret: { name: `${name}-svid` },
    });
    const entry = await waitForEntry(client, tenant, name, 'False', reason);
    expect(entry.status?.conditions?.[0]?.message).toBe(message);
    expect(await readSecret(client, tenant, `${name}-svid`)).toBeUndefined();
    expect(signedFor(`RegistrationEntry/${tenant}/${name}`)).toEqual([]);
  });

  it('refuses a pod-mode entry asking for RSA-4096 keys', async () => {
    await createEntry(client, tenant, 'rsa-pods', {
      trustDomainRef: { name: tdName },
      spiffeIDPath: '/ns/{namespace}/pods/{podName}',
      x509: { keyType: 'RSA-4096' },
      workloadSelector: { serviceAccountName: 'nobody' },
    });
    await waitForEntry(client, tenant, 'rsa-pods', 'False', 'KeyTypeNotAllowed');
  });

  it('gives an entry asking for 8760h at most the ceiling, and says so', async () => {
    await createEntry(client, tenant, 'forever', {
      trustDomainRef: { name: tdName },
      spiffeIDPath: `/ns/${tenant}/forever`,
      x509: { ttl: '8760h' },
      secret: { name: 'forever-svid' },
    });
    const entry = await waitForEntry(client, tenant, 'forever', 'True', 'Issued');
    expect(entry.status?.conditions?.[0]?.message).toContain(
      "x509.ttl 8760h is capped at 7200s, the TrustDomain's svid.maxX509TTL 2h",
    );
    const secret = await readSecret(client, tenant, 'forever-svid');
    const leaf = new x509.X509Certificate(certificatesIn(secret?.data['tls.crt'] ?? '')[0] ?? '');
    expect(leaf.notAfter.getTime() - leaf.notBefore.getTime()).toBeLessThanOrEqual(2 * 3_600_000 + 10_000);
    // The TrustDomain asked for the URI name constraint: its authority carries it, and the chain holds.
    const stored = await readJournal(client, operatorNamespace, trustDomain);
    if (!stored) throw new Error(`no journal for ${trustDomain}`);
    const authority = new x509.X509Certificate(activeX509(stored.journal).certificate);
    expect(authority.getExtension(NAME_CONSTRAINTS_OID)?.critical).toBe(true);
    expect(authority.getExtension(x509.BasicConstraintsExtension)?.pathLength).toBe(0);
    const verified = await opensslVerifyStrict(secret?.data ?? {}, 'sslserver');
    expect(verified.output).toContain('OK');
    expect(verified.ok).toBe(true);
  });

  // Functions: the UIDs exist only once beforeAll has made the objects.
  it.each([
    ["another pod's UID", () => ({ podUID: ids.otherPod }), 'PodMismatch', 'the request names pod UID'],
    [
      'another ServiceAccount',
      () => ({ serviceAccountName: 'other', serviceAccountUID: ids.other }),
      'PodMismatch',
      'the request names ServiceAccount other',
    ],
    [
      "another ServiceAccount's UID",
      () => ({ serviceAccountUID: ids.other }),
      'PodMismatch',
      'the request names ServiceAccount web UID',
    ],
    ['a wrong node', () => ({ nodeName: nodeB }), 'PodMismatch', `the request names node ${nodeB}`],
    [
      'a terminating pod',
      () => ({ podName: 'leaving-0', podUID: ids.leavingPod }),
      'PodTerminating',
      'is terminating',
    ],
  ] as const)(
    'denies a request forged by a user who is no node, naming %s, and issues nothing',
    async (_, forged, reason, message) => {
      const name = await requestAsAttacker(forged());
      const answer = await waitForAnswer(client, tenant, name);
      expect(answer.answer).toMatchObject({ type: 'Denied', status: 'True', reason });
      expect(answer.answer.message).toContain(message);
      expect(answer.certificateChain).toBeUndefined();
      expect(signedFor(`PodCertificateRequest/${tenant}/${name}`)).toEqual([]);
    },
  );

  it('issues the same request when it matches the pod in every part: the denials are the binding', async () => {
    const name = await requestAsAttacker({});
    const answer = await waitForAnswer(client, tenant, name);
    expect(answer.answer).toMatchObject({ type: 'Issued', status: 'True' });
    const pod = await client.request('GET', objectPath(coreResources.pods, 'web-0', tenant));
    expect(pod).toMatchObject({ metadata: { uid: ids.webPod } });
  });
});
