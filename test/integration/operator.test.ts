import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trustDomainKind, trustDomainSchema } from '../../src/api/trustdomain.ts';
import { objectPath, trustlineResource } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import { connectWithCrds, OperatorProcess, uniqueName, waitFor } from './support.ts';
import { createNamespace } from './trust-domains.ts';

const resource = trustlineResource(trustDomainKind);

describe('the operator process', () => {
  let client: RestClient;
  let operator: OperatorProcess;

  beforeAll(async () => {
    client = await connectWithCrds();
    const namespace = uniqueName('operator');
    await createNamespace(client, namespace);
    operator = await OperatorProcess.start({ TRUSTLINE_NAMESPACE: namespace });
  });

  afterAll(async () => {
    if (operator.child.exitCode === null) await operator.stop();
    await client.close();
  });

  const readTrustDomain = async (name: string) =>
    trustDomainSchema.parse(await client.request('GET', objectPath(resource, name)));

  it('watches TrustDomains and reports, for each generation, why one cannot be served', async () => {
    const name = uniqueName('watched');
    await client.request('POST', `/apis/trustline.dev/v1alpha1/trustdomains`, {
      body: {
        apiVersion: 'trustline.dev/v1alpha1',
        kind: 'TrustDomain',
        metadata: { name },
        spec: { trustDomain: `${name}.example.org`, ca: { ttl: '5h' }, svid: { x509TTL: '1h' } },
      },
    });
    const first = await waitFor('status for generation 1', async () => {
      const object = await readTrustDomain(name);
      return object.status?.observedGeneration === 1 ? object : undefined;
    });
    expect(first.status?.conditions).toEqual([
      expect.objectContaining({
        type: 'Ready',
        status: 'False',
        reason: 'LifetimeTooShort',
        observedGeneration: 1,
      }),
    ]);

    await client.request('PATCH', objectPath(resource, name), {
      contentType: 'application/merge-patch+json',
      body: { spec: { ca: { ttl: '4h' } } },
    });
    const second = await waitFor('status for generation 2', async () => {
      const object = await readTrustDomain(name);
      return object.status?.observedGeneration === 2 ? object : undefined;
    });
    const [condition] = second.status?.conditions ?? [];
    expect(condition?.observedGeneration).toBe(2);
    // The status did not change, so neither did the transition time.
    expect(condition?.lastTransitionTime).toBe(first.status?.conditions?.[0]?.lastTransitionTime);
  });

  it('shuts down cleanly on SIGTERM', async () => {
    const code = await operator.stop();
    expect(code).toBe(0);
    expect(operator.log).toContain('"msg":"shutting down"');
    expect(operator.log).toContain('"msg":"stopped"');
    expect(operator.log).not.toMatch(/"level":(50|60)/);
  });
});
