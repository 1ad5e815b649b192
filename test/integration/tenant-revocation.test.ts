import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ANNOTATION_SVID_AUTHORITY_ID,
  ANNOTATION_SVID_WITHDRAWN,
  BUNDLE_PEM_KEY,
} from '../../src/api/well-known.ts';
import { collectionPath, coreResources, objectPath } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import {
  createKeyRevocation,
  expectNotPublished,
  keyRevocations,
  publishedBundles,
  publishedKeyOfCertificate,
  readyMessage,
  waitForRevocation,
} from './key-revocations.ts';
import { createEntry, entries, readEntry, readSecret, waitForEntry } from './registration-entries.ts';
import { connectWithCrds, OperatorProcess, uniqueName, waitFor } from './support.ts';
import {
  activeX509,
  createNamespace,
  createTrustDomain,
  deleteTrustDomains,
  makeCA,
  putSecret,
  readConfigMap,
  readJournal,
  waitForReady,
} from './trust-domains.ts';

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

  it('advances a KeyCompromise while the upstream Secret is missing, and stops issuance', async () => {
    const root = await makeCA(`CN=${run} root`);
    const signer = await makeCA(`CN=${run} signer`, root);
    await putSecret(client, operatorNamespace, `${run}-upstream`, {
      'tls.crt': signer.certificate,
      'tls.key': signer.key,
      'ca.crt': root.certificate,
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

    await client.request('DELETE', objectPath(coreResources.secrets, `${run}-upstream`, operatorNamespace));
    await waitForReady(client, up, 'False', 'UpstreamNotFound');
    const name = `${run}-root`;
    await createKeyRevocation(client, name, {
      trustDomainRef: { name: up },
      authority: { kind: 'UpstreamX509', id: rootId },
      reason: 'KeyCompromise',
      reissueTimeout: '5s',
    });
    const cut = await waitFor('the root revoked in the journal', async () => {
      const journal = (await readJournal(client, operatorNamespace, `${run}.up.example.org`))?.journal;
      const record = journal?.revocations.find((r) => r.requestedBy === name);
      return record?.revokedAt && journal ? journal : undefined;
    });
    expect(cut.authorities.some((a) => a.type === 'X509' && a.state === 'Active')).toBe(false);
    const stopped = await waitForReady(client, up, 'False', 'UpstreamNotFound');
    expect(stopped.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain(
      'issuance is stopped',
    );
    await expectWithdrawn(innocent, 'upstream-workload-svid');
    const refused = await waitForEntry(client, innocent, 'upstream-workload', 'False', 'AuthorityRevoked');
    expect(refused.status?.conditions?.[0]?.message).toContain('issuance is stopped');
  });
});
