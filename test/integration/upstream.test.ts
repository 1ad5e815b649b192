import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_PEM_KEY } from '../../src/api/well-known.ts';
import { collectionPath } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import {
  createEntry,
  entries,
  opensslVerifyStrict,
  readEntry,
  readSecret,
  waitForEntry,
} from './registration-entries.ts';
import { connectWithCrds, OperatorProcess, uniqueName, waitFor } from './support.ts';
import {
  activeX509,
  createNamespace,
  createTrustDomain,
  deleteTrustDomains,
  makeCA,
  opensslVerify,
  putUpstreamSecret,
  readConfigMap,
  readJournal,
  readTrustDomain,
  signLeaf,
  waitForReady,
} from './trust-domains.ts';

const certificatesOf = (pem: string): string[] =>
  (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((block) =>
    new X509Certificate(block).raw.toString('base64'),
  );
const derOf = (pem: string) => new X509Certificate(pem).raw.toString('base64');

describe('a TrustDomain under an upstream CA', () => {
  const run = uniqueName('up');
  const operatorNamespace = `${run}-system`;
  const bundleNamespace = `${run}-apps`;
  const label = { 'trustline-test': run };
  const name = run;
  const trustDomain = `${run}.example.org`;
  const bundleName = `${run}-bundle`;
  const created: string[] = [];
  let client: RestClient;
  let operator: OperatorProcess;
  let firstRoot: { certificate: string; key: string };
  let firstSigner: { certificate: string; key: string };

  beforeAll(async () => {
    client = await connectWithCrds();
    await createNamespace(client, operatorNamespace);
    await createNamespace(client, bundleNamespace, label);
    firstRoot = await makeCA('CN=Upstream Root 1');
    firstSigner = await makeCA('CN=Upstream Signer 1', firstRoot);
    await putUpstreamSecret(client, operatorNamespace, 'upstream-ca', name, {
      'tls.crt': firstSigner.certificate,
      'tls.key': firstSigner.key,
      'ca.crt': firstRoot.certificate,
    });
    operator = await OperatorProcess.start({ TRUSTLINE_NAMESPACE: operatorNamespace });
  });

  afterAll(async () => {
    await client.request('DELETE', collectionPath(entries, bundleNamespace));
    await deleteTrustDomains(client, created);
    if (operator.child.exitCode === null) await operator.stop();
    await client.close();
  });

  it('publishes the upstream roots and issues from an intermediate that chains to them', async () => {
    await createTrustDomain(client, name, {
      trustDomain,
      upstream: { secretName: 'upstream-ca' },
      bundle: { configMapName: bundleName, namespaceSelector: { matchLabels: label } },
    });
    created.push(name);
    const ready = await waitForReady(client, name, 'True');
    expect(ready.status?.authorities?.find((a) => a.kind === 'X509')?.upstreamSigned).toBe(true);
    const bundle = await waitFor('the bundle', () => readConfigMap(client, bundleNamespace, bundleName));
    const roots = bundle.data?.[BUNDLE_PEM_KEY] ?? '';
    expect(certificatesOf(roots)).toEqual([derOf(firstRoot.certificate)]);

    const stored = await readJournal(client, operatorNamespace, trustDomain);
    if (!stored) throw new Error('no journal');
    const authority = activeX509(stored.journal);
    expect(authority.upstream?.chain.map(derOf)).toEqual([derOf(firstSigner.certificate)]);
    const leaf = await signLeaf(authority, trustDomain);
    const verified = await opensslVerify({
      roots,
      untrusted: [authority.certificate, ...(authority.upstream?.chain ?? [])].join(''),
      leaf,
    });
    expect(verified.output).toContain(': OK');
    expect(verified.ok).toBe(true);
  });

  it('issues SVIDs whose chain runs through the intermediate to the upstream root', async () => {
    await createEntry(client, bundleNamespace, 'api', {
      trustDomainRef: { name },
      spiffeIDPath: `/ns/${bundleNamespace}/sa/api`,
      secret: { name: 'api-svid' },
    });
    await waitForEntry(client, bundleNamespace, 'api', 'True', 'Issued');
    const secret = await readSecret(client, bundleNamespace, 'api-svid');
    expect(certificatesOf(secret?.data['ca.crt'] ?? '')).toEqual([derOf(firstRoot.certificate)]);
    expect(certificatesOf(secret?.data['tls.crt'] ?? '')).toHaveLength(3);
    for (const purpose of ['sslclient', 'sslserver'] as const) {
      const verified = await opensslVerifyStrict(secret?.data ?? {}, purpose);
      expect(verified.output).toContain(': OK');
    }
  });

  it('rotates the intermediate when the administrator replaces the upstream signer', async () => {
    const serial = (await readEntry(client, bundleNamespace, 'api')).status?.svid?.serial;
    const before = await readJournal(client, operatorNamespace, trustDomain);
    if (!before) throw new Error('no journal');
    const previous = activeX509(before.journal);
    const secondRoot = await makeCA('CN=Upstream Root 2');
    const secondSigner = await makeCA('CN=Upstream Signer 2', secondRoot);
    await putUpstreamSecret(client, operatorNamespace, 'upstream-ca', name, {
      'tls.crt': secondSigner.certificate,
      'tls.key': secondSigner.key,
      'ca.crt': `${firstRoot.certificate}${secondRoot.certificate}`,
    });
    const after = await waitFor('a new active intermediate under the new signer', async () => {
      const stored = await readJournal(client, operatorNamespace, trustDomain);
      const active = stored && activeX509(stored.journal);
      return active && active.id !== previous.id ? { journal: stored.journal, active } : undefined;
    });
    expect(after.active.upstream?.chain.map(derOf)).toEqual([derOf(secondSigner.certificate)]);
    expect(after.journal.authorities.find((a) => a.id === previous.id)?.state).toBe('Old');

    const bundle = await waitFor('both roots in the bundle', async () => {
      const copy = await readConfigMap(client, bundleNamespace, bundleName);
      return certificatesOf(copy?.data?.[BUNDLE_PEM_KEY] ?? '').length === 2 ? copy : undefined;
    });
    const roots = bundle.data?.[BUNDLE_PEM_KEY] ?? '';
    expect(certificatesOf(roots).sort()).toEqual(
      [derOf(firstRoot.certificate), derOf(secondRoot.certificate)].sort(),
    );
    // The SVID's ca.crt follows the bundle without being signed again: its authority is still valid.
    await waitFor('the SVID Secret to carry both roots', async () => {
      const secret = await readSecret(client, bundleNamespace, 'api-svid');
      return certificatesOf(secret?.data['ca.crt'] ?? '').length === 2 ? true : undefined;
    });
    expect((await readEntry(client, bundleNamespace, 'api')).status?.svid?.serial).toBe(serial);
    for (const authority of [previous, after.active]) {
      const verified = await opensslVerify({
        roots,
        untrusted: [authority.certificate, ...(authority.upstream?.chain ?? [])].join(''),
        leaf: await signLeaf(authority, trustDomain),
      });
      expect(verified.output).toContain(': OK');
    }
  });

  it('reports a missing upstream Secret and one whose certificate is not a CA', async () => {
    const missing = uniqueName('missing');
    await createTrustDomain(client, missing, {
      trustDomain: `${missing}.example.org`,
      upstream: { secretName: 'no-such-secret' },
      bundle: { namespaceSelector: { matchLabels: label } },
    });
    created.push(missing);
    const notFound = await waitForReady(client, missing, 'False', 'UpstreamNotFound');
    expect(notFound.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain(
      `${operatorNamespace}/no-such-secret does not exist`,
    );

    const leafOnly = await makeCA('CN=Upstream Root 3');
    const notCa = await signLeaf(
      {
        id: 'x',
        type: 'X509',
        state: 'Active',
        keyType: 'EC-P256',
        notBefore: new Date(Date.now() - 60_000).toISOString(),
        notAfter: new Date(Date.now() + 3_600_000).toISOString(),
        certificate: leafOnly.certificate,
        privateKey: leafOnly.key,
      },
      'not-a-ca.example.org',
    );
    await putUpstreamSecret(client, operatorNamespace, 'no-such-secret', missing, {
      'tls.crt': notCa,
      'tls.key': leafOnly.key,
      'ca.crt': leafOnly.certificate,
    });
    const invalid = await waitForReady(client, missing, 'False', 'UpstreamInvalid');
    expect(invalid.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain(
      `upstream CA Secret ${operatorNamespace}/no-such-secret: tls.crt's first certificate`,
    );
    expect(invalid.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain('is not a CA');
    expect(await readJournal(client, operatorNamespace, `${missing}.example.org`)).toBeUndefined();
    expect((await readTrustDomain(client, missing)).status?.authorities).toBeUndefined();
  });
});
