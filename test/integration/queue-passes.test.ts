import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionPath } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import { createEntry, entries, waitForEntry } from './registration-entries.ts';
import { connectWithCrds, OperatorProcess, uniqueName, waitFor } from './support.ts';
import { createNamespace, createTrustDomain, deleteTrustDomains, waitForReady } from './trust-domains.ts';

const BURST = 50;
/** How long the count must hold still before the echoes of the burst are taken to have come. */
const QUIET_MS = 3_000;

const entryPasses = (metrics: string): number => {
  const line = metrics
    .split('\n')
    .find((text) => text.startsWith('trustline_reconciles_total{controller="RegistrationEntry"}'));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
};

/**
 * Each entry goes through the queue once per change: the watch events of the Secret and the status
 * the operator wrote for it come back at the versions it wrote, and bring the entry back no more.
 */
describe('queue passes per entry on a real control plane', () => {
  const run = uniqueName('passes');
  const operatorNamespace = `${run}-system`;
  const shop = `${run}-shop`;
  const trustDomainName = run;
  let client: RestClient;
  let operator: OperatorProcess;

  beforeAll(async () => {
    client = await connectWithCrds();
    await createNamespace(client, operatorNamespace);
    await createNamespace(client, shop);
    operator = await OperatorProcess.start({ TRUSTLINE_NAMESPACE: operatorNamespace, LOG_LEVEL: 'info' });
    await createTrustDomain(client, trustDomainName, { trustDomain: `${run}.example.org` });
    await waitForReady(client, trustDomainName, 'True');
  });

  afterAll(async () => {
    await client.request('DELETE', collectionPath(entries, shop));
    await deleteTrustDomains(client, [trustDomainName]);
    await operator.stop();
    await client.close();
  });

  it(`reconciles a burst of ${BURST} new entries about once each`, async () => {
    const before = entryPasses(await operator.metrics());
    const names = Array.from({ length: BURST }, (_, i) => `workload-${i}`);
    await Promise.all(
      names.map((name) =>
        createEntry(client, shop, name, {
          trustDomainRef: { name: trustDomainName },
          spiffeIDPath: `/ns/${shop}/sa/${name}`,
          secret: { name: `${name}-svid` },
        }),
      ),
    );
    for (const name of names) await waitForEntry(client, shop, name, 'True');
    let last = { passes: -1, since: Date.now() };
    const passes = await waitFor(
      'the passes of the burst to settle',
      async () => {
        const now = entryPasses(await operator.metrics()) - before;
        if (now !== last.passes) last = { passes: now, since: Date.now() };
        return Date.now() - last.since >= QUIET_MS ? now : undefined;
      },
      60_000,
    );
    expect(passes).toBeGreaterThanOrEqual(BURST);
    expect(passes / BURST).toBeLessThanOrEqual(1.2);
  });
});
