import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ANNOTATION_UPSTREAM_FOR, LABEL_TRUST_DOMAIN_OBJECT } from '../../src/api/well-known.ts';
import { x509 } from '../../src/core/authorities/x509.ts';
import { clusterTrustBundleName } from '../../src/core/bundle/cluster-trust-bundle.ts';
import { labelValueFor } from '../../src/core/labels.ts';
import { collectionPath, coreResources, objectPath } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import { kubeletKey } from '../fixtures/kubelet.ts';
import {
  CTB_V1,
  certificatesIn,
  createNode,
  createPod,
  createRequestAsNode,
  createServiceAccount,
  waitForAnswer,
} from './pod-certificates.ts';
import { createEntry, entries, readSecret, waitForEntry } from './registration-entries.ts';
import { connectWithCrds, OperatorProcess, uniqueName, waitFor } from './support.ts';
import {
  activeX509,
  createNamespace,
  createTrustDomain,
  deleteTrustDomains,
  makeCA,
  putSecret,
  putUpstreamSecret,
  readJournal,
  trustDomains,
  waitForReady,
} from './trust-domains.ts';

const trustBundleSchema = z.object({
  metadata: z.looseObject({ labels: z.record(z.string(), z.string()).optional() }),
  spec: z.object({ signerName: z.string(), trustBundle: z.string() }),
});

/** What the attacker's TrustDomain grants every namespace, and the owner grants nobody. */
const everyoneAdmin = [{ namespaceSelector: {}, spiffeIDPathPrefixes: ['/admin'] }];

const readyMessage = (object: { status?: { conditions?: { type: string; message?: string }[] } }) =>
  object.status?.conditions?.find((condition) => condition.type === 'Ready')?.message ?? '';

/** Each newer, hostile object is created once the one it copies is Ready, so the older wins by age. */
describe('a trust domain name has one owner and one set of members (attacker side)', () => {
  const run = uniqueName('own');
  const operatorNamespace = `${run}-system`;
  const tenant = `${run}-tenant`;
  const sandbox = `${run}-sandbox`;
  const runLabel = { 'trustline-test': run };
  const issuanceLabel = `${run}-issuance`;
  const bundle = { namespaceSelector: { matchLabels: runLabel } };
  const node = uniqueName('node');
  const ids = { node: '', account: '' };
  const created: string[] = [];
  let client: RestClient;
  let operator: OperatorProcess;

  /** A pod in the tenant namespace that mounts `signerName`, and a request for it made as its node. */
  const requestFor = async (pod: string, signerName: string) => {
    const podUID = await createPod(client, tenant, {
      name: pod,
      serviceAccount: 'app',
      nodeName: node,
      signerName,
    });
    const key = await kubeletKey();
    const name = await createRequestAsNode(node, tenant, {
      signerName,
      podName: pod,
      podUID,
      serviceAccountName: 'app',
      serviceAccountUID: ids.account,
      nodeName: node,
      nodeUID: ids.node,
      maxExpirationSeconds: 86_400,
      stubPKCS10Request: key.csr.toString('base64'),
    });
    return waitForAnswer(client, tenant, name);
  };

  /** A pod-mode entry in the tenant namespace selecting the `app` ServiceAccount. */
  const podEntry = (name: string, trustDomainObject: string, spiffeIDPath: string) =>
    createEntry(client, tenant, name, {
      trustDomainRef: { name: trustDomainObject },
      spiffeIDPath,
      workloadSelector: { serviceAccountName: 'app' },
    });

  const trustDomain = async (name: string, spec: Record<string, unknown>) => {
    await createTrustDomain(client, name, { bundle, ...spec });
    created.push(name);
  };

  beforeAll(async () => {
    client = await connectWithCrds();
    await createNamespace(client, operatorNamespace);
    await createNamespace(client, tenant, { ...runLabel, [issuanceLabel]: 'yes' });
    await createNamespace(client, sandbox, runLabel);
    operator = await OperatorProcess.start({ TRUSTLINE_NAMESPACE: operatorNamespace });
    ids.node = await createNode(client, node);
    ids.account = await createServiceAccount(client, tenant, 'app');
  }, 120_000);

  afterAll(async () => {
    for (const namespace of [tenant, sandbox]) {
      await client.request('DELETE', collectionPath(entries, namespace));
    }
    await deleteTrustDomains(client, created);
    await operator?.stop();
    await client.close();
  });

  it("refuses a newer TrustDomain's entries and pod certificates for a claimed name, naming the owner, and signs nothing with the owner's keys", async () => {
    const owner = `${run}-owner`;
    const squatter = `${run}-squatter`;
    const name = `${run}.example.org`;
    await trustDomain(owner, { trustDomain: name });
    await waitForReady(client, owner, 'True');
    // The attacker's object is newer and grants every namespace what the owner grants nobody.
    await trustDomain(squatter, {
      trustDomain: name,
      grants: everyoneAdmin,
    });
    const conflict = await waitForReady(client, squatter, 'False', 'Conflict');
    expect(readyMessage(conflict)).toContain(`TrustDomain ${owner} already serves trust domain ${name}`);

    await createEntry(client, tenant, 'stolen', {
      trustDomainRef: { name: squatter },
      spiffeIDPath: '/admin/root',
      secret: { name: 'stolen-svid' },
    });
    const refused = await waitForEntry(client, tenant, 'stolen', 'False', 'TrustDomainConflict');
    expect(readyMessage(refused)).toContain(`TrustDomain ${squatter} signs nothing`);
    expect(readyMessage(refused)).toContain(`TrustDomain ${owner} already serves trust domain ${name}`);
    expect(refused.status?.svid).toBeUndefined();
    expect(await readSecret(client, tenant, 'stolen-svid')).toBeUndefined();

    await podEntry('stolen-pods', squatter, '/admin/{podName}');
    await waitForEntry(client, tenant, 'stolen-pods', 'False', 'TrustDomainConflict');
    const answer = await requestFor('squatter-0', `trustline.dev/${squatter}`);
    expect(answer.answer).toMatchObject({ type: 'Denied', reason: 'TrustDomainConflict' });
    expect(answer.answer.message).toContain(`TrustDomain ${owner} already serves trust domain ${name}`);
    expect(answer.certificateChain).toBeUndefined();
  });

  it('refuses an entry from a namespace outside the issuance selector, naming the selector, while a selected one is issued', async () => {
    const members = `${run}-members`;
    await trustDomain(members, {
      trustDomain: `${run}-members.example.org`,
      issuance: { namespaceSelector: { matchLabels: { [issuanceLabel]: 'yes' } } },
    });
    await waitForReady(client, members, 'True');

    // The sandbox gets the bundle, but claims its own /ns/<namespace> identity in vain.
    await createEntry(client, sandbox, 'api', {
      trustDomainRef: { name: members },
      spiffeIDPath: `/ns/${sandbox}/api`,
      secret: { name: 'api-svid' },
    });
    const refused = await waitForEntry(client, sandbox, 'api', 'False', 'NamespaceNotSelected');
    expect(readyMessage(refused)).toContain(`namespace ${sandbox} is not selected by TrustDomain ${members}`);
    expect(readyMessage(refused)).toContain(`{"matchLabels":{"${issuanceLabel}":"yes"}}`);
    expect(await readSecret(client, sandbox, 'api-svid')).toBeUndefined();

    await createEntry(client, tenant, 'api', {
      trustDomainRef: { name: members },
      spiffeIDPath: `/ns/${tenant}/api`,
      secret: { name: 'api-svid' },
    });
    await waitForEntry(client, tenant, 'api', 'True', 'Issued');
    expect((await readSecret(client, tenant, 'api-svid'))?.data['tls.crt']).toContain('BEGIN CERTIFICATE');

    // Membership is judged at every signing: labelled in, the sandbox is issued; labelled out, refused.
    await client.request('PATCH', objectPath(coreResources.namespaces, sandbox), {
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels: { [issuanceLabel]: 'yes' } } },
    });
    await waitForEntry(client, sandbox, 'api', 'True', 'Issued');
    await client.request('PATCH', objectPath(coreResources.namespaces, sandbox), {
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels: { [issuanceLabel]: null } } },
    });
    await waitForEntry(client, sandbox, 'api', 'False', 'NamespaceNotSelected');
  });

  it('refuses a TrustDomain naming an upstream CA Secret bound to another one, and mints nothing under it', async () => {
    const legit = `${run}-legit`;
    const thief = `${run}-thief`;
    const root = await makeCA('CN=Ownership Root');
    const signer = await makeCA('CN=Ownership Signer', root);
    const ca = { 'tls.crt': signer.certificate, 'tls.key': signer.key, 'ca.crt': root.certificate };
    await putUpstreamSecret(client, operatorNamespace, 'shared-ca', legit, ca);
    await trustDomain(legit, {
      trustDomain: `${run}-legit.example.org`,
      upstream: { secretName: 'shared-ca' },
    });
    await waitForReady(client, legit, 'True');

    await trustDomain(thief, {
      trustDomain: `${run}-thief.example.org`,
      upstream: { secretName: 'shared-ca' },
    });
    const refused = await waitForReady(client, thief, 'False', 'UpstreamNotBound');
    expect(readyMessage(refused)).toContain(`is bound to TrustDomain ${legit}, not to ${thief}`);
    expect(readyMessage(refused)).toContain(`${ANNOTATION_UPSTREAM_FOR}=${thief}`);
    await createEntry(client, tenant, 'thief', {
      trustDomainRef: { name: thief },
      spiffeIDPath: `/ns/${tenant}/thief`,
      secret: { name: 'thief-svid' },
    });
    await waitForEntry(client, tenant, 'thief', 'False', 'TrustDomainNotReady');
    expect(await readJournal(client, operatorNamespace, `${run}-thief.example.org`)).toBeUndefined();
    expect(await readSecret(client, tenant, 'thief-svid')).toBeUndefined();

    // An unannotated Secret, as existing installs have them, is bound to no one.
    await putSecret(client, operatorNamespace, 'unbound-ca', ca);
    const unbound = `${run}-unbound`;
    await trustDomain(unbound, {
      trustDomain: `${run}-unbound.example.org`,
      upstream: { secretName: 'unbound-ca' },
    });
    const notBound = await waitForReady(client, unbound, 'False', 'UpstreamNotBound');
    expect(readyMessage(notBound)).toContain('is bound to no TrustDomain');
    expect(await readJournal(client, operatorNamespace, `${run}-unbound.example.org`)).toBeUndefined();
  });

  it("answers a signer name two TrustDomains give only with the older one's keys, and only it publishes the ClusterTrustBundle", async () => {
    const first = `${run}-first`;
    const second = `${run}-second`;
    const signerName = `trustline.dev/${run}-shared`;
    await trustDomain(first, { trustDomain: `${run}-first.example.org`, podCertificates: { signerName } });
    await waitForReady(client, first, 'True');
    await trustDomain(second, {
      trustDomain: `${run}-second.example.org`,
      podCertificates: { signerName },
      grants: everyoneAdmin,
    });
    const conflict = await waitForReady(client, second, 'False', 'SignerConflict');
    expect(readyMessage(conflict)).toContain(`TrustDomain ${first} already answers for signer ${signerName}`);

    // The attacker's entry is the older one in the namespace, so it would win the pod if its TrustDomain signed.
    await podEntry('second-pods', second, '/admin/{podName}');
    await waitForEntry(client, tenant, 'second-pods', 'False', 'TrustDomainConflict');
    await podEntry('first-pods', first, '/ns/{namespace}/sa/{serviceAccount}');
    await waitForEntry(client, tenant, 'first-pods', 'True', 'ServingPods');

    const answer = await requestFor('shared-0', signerName);
    expect(answer.answer).toMatchObject({ type: 'Issued', status: 'True' });
    const [leafPem] = certificatesIn(answer.certificateChain ?? '');
    const leaf = new x509.X509Certificate(leafPem ?? '');
    expect(leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON()).toEqual([
      { type: 'url', value: `spiffe://${run}-first.example.org/ns/${tenant}/sa/app` },
    ]);
    const journal = await readJournal(client, operatorNamespace, `${run}-first.example.org`);
    if (!journal) throw new Error('no journal for the older TrustDomain');
    const authority = new x509.X509Certificate(activeX509(journal.journal).certificate);
    expect(await leaf.verify({ publicKey: authority.publicKey, signatureOnly: true })).toBe(true);
    expect(await readJournal(client, operatorNamespace, `${run}-second.example.org`)).toBeUndefined();

    const published = await waitFor('the ClusterTrustBundle of the shared signer', async () =>
      trustBundleSchema.parse(
        await client.request('GET', objectPath(CTB_V1, clusterTrustBundleName(signerName))),
      ),
    );
    expect(published.metadata.labels?.[LABEL_TRUST_DOMAIN_OBJECT]).toBe(labelValueFor(first));
    expect(published.spec.trustBundle).toBe(journal.journal.bundle.pem);

    // Once the owner gives the signer name up, the waiting object takes it without any change of its own.
    await client.request('PATCH', objectPath(trustDomains, first), {
      contentType: 'application/merge-patch+json',
      body: { spec: { podCertificates: { signerName: `${signerName}-moved` } } },
    });
    await waitForReady(client, second, 'True');
  });
});
