import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionPath } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import { METRIC_NAMES } from '../../src/observability/metrics.ts';
import { createEntry, entries, readEntry, readSecret, waitForEntry } from './registration-entries.ts';
import { connectWithCrds, OperatorProcess, uniqueName, waitFor } from './support.ts';
import { createNamespace, createTrustDomain, deleteTrustDomains, waitForReady } from './trust-domains.ts';

/**
 * Renewal on short real lifetimes: 10-second X.509-SVIDs renew after about 5 s, from the entry's own
 * timer, and move to a new authority once the one-minute CA has rotated.
 */
describe('SVID renewal', () => {
  const run = uniqueName('renew');
  const operatorNamespace = `${run}-system`;
  const namespace = `${run}-apps`;
  const name = run;
  let client: RestClient;
  let operator: OperatorProcess;

  beforeAll(async () => {
    client = await connectWithCrds();
    await createNamespace(client, operatorNamespace);
    await createNamespace(client, namespace);
    operator = await OperatorProcess.start({ TRUSTLINE_NAMESPACE: operatorNamespace });
    await createTrustDomain(client, name, {
      trustDomain: `${run}.example.org`,
      ca: { ttl: '1m' },
      jwt: { ttl: '1h' },
      svid: { x509TTL: '10s', jwtTTL: '10m' },
      bundle: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } } },
    });
    await waitForReady(client, name, 'True');
  });

  afterAll(async () => {
    await client.request('DELETE', collectionPath(entries, namespace));
    await deleteTrustDomains(client, [name]);
    await operator.stop();
    await client.close();
  });

  it('renews before expiry and moves to the new authority after a CA rotation', async () => {
    await createEntry(client, namespace, 'worker', {
      trustDomainRef: { name },
      spiffeIDPath: `/ns/${namespace}/sa/worker`,
      secret: { name: 'worker-svid' },
    });
    const first = await waitForEntry(client, namespace, 'worker', 'True', 'Issued');
    const renewed = await waitFor(
      'a renewal',
      async () => {
        const entry = await readEntry(client, namespace, 'worker');
        return entry.status?.svid?.serial !== first.status?.svid?.serial ? entry : undefined;
      },
      30_000,
    );
    expect(renewed.metadata.generation).toBe(first.metadata.generation);
    // Renewed with jitter between 30% and 50% of the lifetime, well before notAfter.
    expect(Date.parse(first.status?.svid?.renewAt ?? '')).toBeLessThan(
      Date.parse(first.status?.svid?.notAfter ?? ''),
    );

    const moved = await waitFor(
      'an SVID from the next authority',
      async () => {
        const entry = await readEntry(client, namespace, 'worker');
        return entry.status?.svid?.authorityID !== first.status?.svid?.authorityID ? entry : undefined;
      },
      90_000,
    );
    const secret = await readSecret(client, namespace, 'worker-svid');
    expect(secret?.metadata.annotations?.['trustline.dev/svid-authority-id']).toBe(
      moved.status?.svid?.authorityID,
    );

    const metrics = await operator.metrics();
    expect(metrics).toMatch(
      new RegExp(`${METRIC_NAMES.svidsIssued}\\{type="x509",reason="Renewal"\\} [1-9]`),
    );
    expect(metrics).toContain(`${METRIC_NAMES.svidSoonestExpiry}{trust_domain="${run}.example.org"}`);
    expect(operator.entries().filter((line) => line.msg === 'reconcile failed')).toEqual([]);
  }, 150_000);
});
