import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ANNOTATION_SVID_AUTHORITY_ID,
  ANNOTATION_SVID_WITHDRAWN,
  BUNDLE_PEM_KEY,
  LABEL_MANAGED_BY,
  MANAGED_BY_TRUSTLINE,
  OIDC_DISCOVERY_KEY,
} from '../../src/api/well-known.ts';
import { clusterTrustBundleName } from '../../src/core/bundle/cluster-trust-bundle.ts';
import { collectionPath, coreResources, objectPath } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import {
  createKeyRevocation,
  expectNotPublished,
  holdsCertificate,
  keyRevocations,
  publishedBundles,
  publishedKeyOfCertificate,
  readyMessage,
  waitForRevocation,
} from './key-revocations.ts';
import { CTB_V1 } from './pod-certificates.ts';
import { createEntry, entries, readEntry, readSecret, waitForEntry } from './registration-entries.ts';
import { connectWithCrds, OperatorProcess, uniqueName, waitFor } from './support.ts';
import {
  activeX509,
  createNamespace,
  createTrustDomain,
  deleteTrustDomains,
  makeCA,
  putUpstreamSecret,
  readConfigMap,
  readJournal,
  readTrustDomain,
  trustDomains,
  waitForReady,
} from './trust-domains.ts';

const clusterTrustBundleSchema = z.object({
  metadata: z.object({ labels: z.record(z.string(), z.string()).optional() }),
  spec: z.object({ trustBundle: z.string() }),
});

/**
 * A hostile namespace owner against revocation and withdrawal, on the real control plane: whatever
 * it does to its own entries and Secrets, a revocation reaches Revoked, the SVIDs it held back are
 * withdrawn or named, and an identity no longer allowed leaves its Secret while ca.crt stays current.
 */
describe('a revocation a tenant cannot hold hostage', () => {
  const run = uniqueName('tenant');
  const operatorNamespace = `${run}-system`;
  const label = { 'trustline-test': run };
  const innocent = `${run}-innocent`;
  const hostile = `${run}-hostile`;
  const granted = `${run}-granted`;
  const stripper = `${run}-stripper`;
  const oidcName = `${run}-oidc`;
  const namespaces = [innocent, hostile, granted];
  const self = `${run}-self`;
  const up = `${run}-up`;
  const bundleName = `${self}-bundle`;
  const hold = 'hostile.example/hold';
  let client: RestClient;
  let operator: OperatorProcess | undefined;

  const entry = (namespace: string, name: string, trustDomain = self, path = `/ns/${namespace}/sa/${name}`) =>
    createEntry(client, namespace, name, {
      trustDomainRef: { name: trustDomain },
      spiffeIDPath: path,
      secret: { name: `${name}-svid` },
      jwtSVIDs: [{ key: 'token', audiences: ['relying-party'] }],
    });
  const patch = (path: string, body: unknown) =>
    client.request('PATCH', path, { contentType: 'application/merge-patch+json', body });
  const currentBundle = async () =>
    (await readConfigMap(client, innocent, bundleName))?.data?.[BUNDLE_PEM_KEY] ?? '';
  /** A withdrawn Secret: no certificate, key or token, marked, and the current bundle in ca.crt. */
  const expectWithdrawn = async (namespace: string, secret: string) => {
    const held = await waitFor(`the SVID to leave ${namespace}/${secret}`, async () => {
      const found = await readSecret(client, namespace, secret);
      return found?.metadata.annotations?.[ANNOTATION_SVID_WITHDRAWN] !== undefined ? found : undefined;
    });
    expect(held.data['tls.crt']).toBe('');
    expect(held.data['tls.key']).toBe('');
    expect(Object.keys(held.data).sort()).toEqual(['ca.crt', 'svid_bundle.pem', 'tls.crt', 'tls.key']);
    expect(held.metadata.annotations?.[ANNOTATION_SVID_AUTHORITY_ID]).toBeUndefined();
    return held;
  };

  beforeAll(async () => {
    client = await connectWithCrds();
    await createNamespace(client, operatorNamespace);
    await createNamespace(client, innocent, label);
    await createNamespace(client, hostile, label);
    await createNamespace(client, granted, { ...label, team: `${run}-shared` });
    operator = await OperatorProcess.start({ TRUSTLINE_NAMESPACE: operatorNamespace });
    await createTrustDomain(client, self, {
      trustDomain: `${run}.self.example.org`,
      bundle: { namespaceSelector: { matchLabels: label }, configMapName: bundleName },
      grants: [
        { namespaceSelector: { matchLabels: { team: `${run}-shared` } }, spiffeIDPathPrefixes: ['/shared'] },
      ],
    });
    await waitForReady(client, self, 'True');
    await entry(innocent, 'ok');
    await entry(hostile, 'renamed');
    await entry(hostile, 'stuck');
    await entry(hostile, 'frozen');
    await entry(granted, 'api', self, '/shared/api');
    for (const [namespace, name] of [
      [innocent, 'ok'],
      [hostile, 'renamed'],
      [hostile, 'stuck'],
      [hostile, 'frozen'],
      [granted, 'api'],
    ] as const) {
      await waitForEntry(client, namespace, name, 'True', 'Issued');
    }
  });

  afterAll(async () => {
    await patch(objectPath(entries, 'stuck', hostile), { metadata: { finalizers: null } }).catch(() => {});
    await client.request('DELETE', collectionPath(keyRevocations));
    for (const namespace of namespaces) await client.request('DELETE', collectionPath(entries, namespace));
    await deleteTrustDomains(client, [self, up]);
    if (operator && operator.child.exitCode === null) await operator.stop();
    await client.close();
  });

  it('withdraws the SVID of a namespace relabelled out of its grant within seconds, keeping ca.crt current', async () => {
    await patch(objectPath(coreResources.namespaces, granted), { metadata: { labels: { team: null } } });
    const started = Date.now();
    const held = await expectWithdrawn(granted, 'api-svid');
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(held.data['ca.crt']).toBe(await currentBundle());
    const refused = await readEntry(client, granted, 'api');
    const ready = refused.status?.conditions?.find((condition) => condition.type === 'Ready');
    expect(ready?.status).toBe('False');
    expect(ready?.message).toContain(`the SVID was withdrawn from Secret ${granted}/api-svid`);
  });

  it('reaches Revoked on a KeyCompromise whatever the hostile namespace does, naming what it withdrew', async () => {
    const stored = await readJournal(client, operatorNamespace, `${run}.self.example.org`);
    if (!stored) throw new Error('no journal');
    const compromised = activeX509(stored.journal);
    // The hostile owner claims an ID it may not, holds a deleted entry with its own finalizer, and
    // freezes its Secret.
    await patch(objectPath(entries, 'renamed', hostile), { spec: { spiffeIDPath: `/ns/${innocent}/sa/ok` } });
    await patch(objectPath(entries, 'stuck', hostile), { metadata: { finalizers: [hold] } });
    await client.request('DELETE', objectPath(entries, 'stuck', hostile));
    await patch(objectPath(coreResources.secrets, 'frozen-svid', hostile), { immutable: true });

    const name = `${run}-compromise`;
    await createKeyRevocation(client, name, {
      trustDomainRef: { name: self },
      authority: { kind: 'X509', id: compromised.id },
      reason: 'KeyCompromise',
    });
    const revoked = await waitForRevocation(client, name, 'Revoked', 'Revoked', 90_000);
    // The namespace relabelled out of its grant before held an SVID of the same key.
    expect(revoked.status?.withdrawn).toEqual([`${granted}/api`, `${hostile}/renamed`, `${hostile}/stuck`]);
    expect(revoked.status?.unwritable).toEqual([`${hostile}/frozen`]);
    expect(readyMessage(revoked)).toContain(`left in unwritable Secrets of ${hostile}/frozen`);

    for (const secret of ['renamed-svid', 'stuck-svid']) {
      const held = await expectWithdrawn(hostile, secret);
      expect(held.data['ca.crt']).toBe(await currentBundle());
    }
    const frozen = await waitForEntry(client, hostile, 'frozen', 'False', 'SecretUnwritable');
    expect(frozen.status?.conditions?.[0]?.message).toContain('cannot be written');
    const bundles = await publishedBundles(client, [innocent, hostile], bundleName);
    for (const [i, data] of bundles.entries()) {
      expectNotPublished(data, publishedKeyOfCertificate(compromised.certificate), `namespace ${i}`);
    }
    const moved = await waitFor('the innocent SVID to be re-issued', async () => {
      const secret = await readSecret(client, innocent, 'ok-svid');
      const signer = secret?.metadata.annotations?.[ANNOTATION_SVID_AUTHORITY_ID];
      return signer && signer !== compromised.id ? secret : undefined;
    });
    expect(moved.data['tls.crt']).toContain('BEGIN CERTIFICATE');
  });

  it('lets a PolicyChange wait for an unwritable Secret only as long as its reissueTimeout', async () => {
    await entry(hostile, 'frozen2');
    await waitForEntry(client, hostile, 'frozen2', 'True', 'Issued');
    await patch(objectPath(coreResources.secrets, 'frozen2-svid', hostile), { immutable: true });
    const stored = await readJournal(client, operatorNamespace, `${run}.self.example.org`);
    if (!stored) throw new Error('no journal');
    const name = `${run}-policy`;
    const started = Date.now();
    await createKeyRevocation(client, name, {
      trustDomainRef: { name: self },
      authority: { kind: 'X509', id: activeX509(stored.journal).id },
      reason: 'PolicyChange',
      gracePeriod: '0s',
      reissueTimeout: '5s',
    });
    const revoked = await waitForRevocation(client, name, 'Revoked', 'Revoked', 60_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(5_000);
    expect(revoked.status?.unwritable).toContain(`${hostile}/frozen2`);
  });

  it('revokes an upstream root while the upstream Secret is missing: Revoked, issuance stopped, the root out of every copy', async () => {
    const root = await makeCA(`CN=${run} root`);
    const spare = await makeCA(`CN=${run} spare root`);
    const signer = await makeCA(`CN=${run} signer`, root);
    await putUpstreamSecret(client, operatorNamespace, `${run}-upstream`, up, {
      'tls.crt': signer.certificate,
      'tls.key': signer.key,
      'ca.crt': `${root.certificate}${spare.certificate}`,
    });
    await createTrustDomain(client, up, {
      trustDomain: `${run}.up.example.org`,
      upstream: { secretName: `${run}-upstream` },
      bundle: { namespaceSelector: { matchLabels: label } },
    });
    await waitForReady(client, up, 'True');
    await entry(innocent, 'upstream-workload', up);
    await waitForEntry(client, innocent, 'upstream-workload', 'True', 'Issued');
    const stored = await readJournal(client, operatorNamespace, `${run}.up.example.org`);
    const rootId = stored && activeX509(stored.journal).upstream?.rootId;
    if (!rootId) throw new Error('no upstream root in the journal');
    const cutRoot = publishedKeyOfCertificate(root.certificate);
    const before = await publishedBundles(client, [innocent, hostile], `${up}-trust-bundle`);
    for (const data of before)
      expect(holdsCertificate(data[BUNDLE_PEM_KEY] ?? '', root.certificate)).toBe(true);

    await client.request('DELETE', objectPath(coreResources.secrets, `${run}-upstream`, operatorNamespace));
    await waitForReady(client, up, 'False', 'UpstreamNotFound');
    const name = `${run}-root`;
    await createKeyRevocation(client, name, {
      trustDomainRef: { name: up },
      authority: { kind: 'UpstreamX509', id: rootId },
      reason: 'KeyCompromise',
      reissueTimeout: '5s',
    });
    await waitForRevocation(client, name, 'Revoked', 'Revoked', 90_000);
    // The Secret never came back: the bundle went out from the journal alone.
    await expect(
      client.request('GET', objectPath(coreResources.secrets, `${run}-upstream`, operatorNamespace)),
    ).rejects.toMatchObject({ status: 404 });
    const journal = (await readJournal(client, operatorNamespace, `${run}.up.example.org`))?.journal;
    expect(journal?.authorities.some((a) => a.type === 'X509' && a.state === 'Active')).toBe(false);
    const stopped = await waitForReady(client, up, 'False', 'UpstreamNotFound');
    expect(stopped.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain(
      'issuance is stopped',
    );
    expect(stopped.status?.conditions?.find((c) => c.type === 'BundlePublished')?.status).toBe('True');

    const after = await publishedBundles(client, [innocent, hostile], `${up}-trust-bundle`);
    for (const [i, data] of after.entries()) {
      expectNotPublished(data, cutRoot, `bundle ConfigMap ${i}`);
      expect(holdsCertificate(data[BUNDLE_PEM_KEY] ?? '', spare.certificate)).toBe(true);
    }
    const trustBundle = clusterTrustBundleSchema.parse(
      await client.request('GET', objectPath(CTB_V1, clusterTrustBundleName(`trustline.dev/${up}`))),
    );
    expectNotPublished({ 'bundle.pem': trustBundle.spec.trustBundle }, cutRoot, 'the ClusterTrustBundle');
    expect(holdsCertificate(trustBundle.spec.trustBundle, spare.certificate)).toBe(true);

    await expectWithdrawn(innocent, 'upstream-workload-svid');
    const refused = await waitForEntry(client, innocent, 'upstream-workload', 'False', 'AuthorityRevoked');
    expect(refused.status?.conditions?.[0]?.message).toContain('issuance is stopped');
  });

  it('re-asserts copies whose labels were stripped during a revocation, and names the ones a tenant took over', async () => {
    await createNamespace(client, stripper, label);
    // The tenant's namespace also holds the OIDC document.
    await patch(objectPath(trustDomains, self), {
      spec: {
        jwt: { issuer: `https://${run}.self.example.org` },
        oidc: { namespace: stripper, configMapName: oidcName },
      },
    });
    await waitFor('the OIDC document', async () => {
      const copy = await readConfigMap(client, stripper, oidcName);
      return copy?.data?.[OIDC_DISCOVERY_KEY] ? copy : undefined;
    });
    const copies = await publishedBundles(client, [hostile, stripper], bundleName);
    expect(copies[0]?.[BUNDLE_PEM_KEY]).toContain('BEGIN CERTIFICATE');
    const trustBundlePath = objectPath(CTB_V1, clusterTrustBundleName(`trustline.dev/${self}`));
    const stored = await readJournal(client, operatorNamespace, `${run}.self.example.org`);
    if (!stored) throw new Error('no journal');
    const compromised = activeX509(stored.journal);
    const name = `${run}-stripped`;
    await createKeyRevocation(client, name, {
      trustDomainRef: { name: self },
      authority: { kind: 'X509', id: compromised.id },
      reason: 'KeyCompromise',
      gracePeriod: '15s',
    });
    await waitForRevocation(client, name, 'Tainted');
    // One tenant strips Trustline's labels; the other strips its ownerReference too, from the bundle
    // and the OIDC document; and someone allowed to edit ClusterTrustBundles strips its labels.
    await patch(objectPath(coreResources.configMaps, bundleName, hostile), { metadata: { labels: null } });
    for (const configMap of [bundleName, oidcName]) {
      await patch(objectPath(coreResources.configMaps, configMap, stripper), {
        metadata: { labels: null, ownerReferences: null },
      });
    }
    await patch(trustBundlePath, { metadata: { labels: null } });
    const takenOver = await readConfigMap(client, stripper, bundleName);

    const revoked = await waitForRevocation(client, name, 'Revoked', 'Revoked', 90_000);
    expect(readyMessage(revoked)).toContain('copies Trustline does not own were left as they are');
    expect(readyMessage(revoked)).toContain(stripper);
    expect(readyMessage(revoked)).toContain(`OIDC ConfigMap ${stripper}/${oidcName}`);
    const trustBundle = await waitFor('the stripped ClusterTrustBundle to be put back', async () => {
      const found = clusterTrustBundleSchema.parse(await client.request('GET', trustBundlePath));
      return found.metadata.labels?.[LABEL_MANAGED_BY] === MANAGED_BY_TRUSTLINE &&
        !holdsCertificate(found.spec.trustBundle, compromised.certificate)
        ? found
        : undefined;
    });
    expect(trustBundle.spec.trustBundle).toContain('BEGIN CERTIFICATE');
    const reasserted = await waitFor("the stripped copy to be Trustline's again", async () => {
      const copy = await readConfigMap(client, hostile, bundleName);
      return copy?.metadata.labels?.[LABEL_MANAGED_BY] === MANAGED_BY_TRUSTLINE ? copy : undefined;
    });
    expectNotPublished(reasserted.data ?? {}, publishedKeyOfCertificate(compromised.certificate), hostile);
    const [innocentCopy] = await publishedBundles(client, [innocent, hostile], bundleName);
    expect(reasserted.data?.[BUNDLE_PEM_KEY]).toBe(innocentCopy?.[BUNDLE_PEM_KEY]);
    const status = (await readTrustDomain(client, self)).status;
    expect(status?.foreignBundleNamespaces).toEqual([stripper]);
    // Not Trustline's any more: named, and left exactly as its tenant keeps it.
    expect((await readConfigMap(client, stripper, bundleName))?.data).toEqual(takenOver?.data);
  });
});
