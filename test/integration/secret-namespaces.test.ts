import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionPath } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import { createEntry, entries, readSecret, waitForEntry } from './registration-entries.ts';
import { connectWithCrds, OperatorProcess, uniqueName } from './support.ts';
import { createNamespace, createTrustDomain, deleteTrustDomains, waitForReady } from './trust-domains.ts';

describe('Secret mode limited to listed namespaces', () => {
  const run = uniqueName('limit');
  const operatorNamespace = `${run}-system`;
  const [allowed, elsewhere] = [`${run}-allowed`, `${run}-elsewhere`];
  let client: RestClient;
  let operator: OperatorProcess;

  beforeAll(async () => {
    client = await connectWithCrds();
    for (const namespace of [operatorNamespace, allowed, elsewhere]) await createNamespace(client, namespace);
    operator = await OperatorProcess.start({
      TRUSTLINE_NAMESPACE: operatorNamespace,
      TRUSTLINE_SECRET_NAMESPACES: allowed,
    });
    await createTrustDomain(client, run, {
      trustDomain: `${run}.example.org`,
      bundle: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': allowed } } },
    });
    await waitForReady(client, run, 'True');
  });

  afterAll(async () => {
    for (const namespace of [allowed, elsewhere])
      await client.request('DELETE', collectionPath(entries, namespace));
    await deleteTrustDomains(client, [run]);
    await operator.stop();
    await client.close();
  });

  it('issues in a listed namespace and refuses, by name, anywhere else', async () => {
    for (const namespace of [allowed, elsewhere]) {
      await createEntry(client, namespace, 'app', {
        trustDomainRef: { name: run },
        spiffeIDPath: `/ns/${namespace}/sa/app`,
        secret: { name: 'app-svid' },
      });
    }
    await waitForEntry(client, allowed, 'app', 'True', 'Issued');
    const refused = await waitForEntry(client, elsewhere, 'app', 'False', 'SecretNamespaceNotAllowed');
    expect(refused.status?.conditions?.[0]?.message).toContain(`namespace ${elsewhere}`);
    expect(await readSecret(client, elsewhere, 'app-svid')).toBeUndefined();
  });
});
