import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LEASE_JITTER } from '../../src/core/leader/lease.ts';
import { LEADER_LEASE_NAME } from '../../src/deploy/names.ts';
import { collectionPath, leaseResource, objectPath } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import { METRIC_NAMES } from '../../src/observability/metrics.ts';
import { createEntry, entries, readSecret, waitForEntry } from './registration-entries.ts';
import { connectWithCrds, OperatorProcess, uniqueName, waitFor } from './support.ts';
import { createNamespace, createTrustDomain, deleteTrustDomains, waitForReady } from './trust-domains.ts';

/** Short terms so a failover fits a test; the same rules as the defaults (15s, 10s, 2s). */
const LEASE_SECONDS = 6;
const RETRY_SECONDS = 1;
const TIMING = {
  TRUSTLINE_LEASE_DURATION: `${LEASE_SECONDS}s`,
  TRUSTLINE_RENEW_DEADLINE: '4s',
  TRUSTLINE_RETRY_PERIOD: `${RETRY_SECONDS}s`,
};

const leaseSchema = z.object({
  spec: z.object({ holderIdentity: z.string().optional(), leaseTransitions: z.number().optional() }),
});
const signingSchema = z.object({
  time: z.number(),
  signing: z.object({
    operation: z.string(),
    spiffeId: z.string().optional(),
    subject: z.string(),
    reason: z.string().optional(),
  }),
});

/** The X.509-SVIDs a replica signed, from its audit stream. */
const svidSignings = (replica: OperatorProcess) =>
  replica
    .entries()
    .flatMap((line) => signingSchema.safeParse(line).data ?? [])
    .filter((line) => line.signing.operation === 'x509-svid');

describe('leader election between two replicas', () => {
  const run = uniqueName('leader');
  const operatorNamespace = `${run}-system`;
  const namespace = `${run}-apps`;
  let client: RestClient;
  const replicas = new Map<string, OperatorProcess>();

  const startReplica = async (name: string) => {
    const replica = await OperatorProcess.start({
      TRUSTLINE_NAMESPACE: operatorNamespace,
      POD_NAME: name,
      ...TIMING,
    });
    replicas.set(name, replica);
    return replica;
  };
  const holder = async () =>
    leaseSchema.parse(
      await client.request('GET', objectPath(leaseResource, LEADER_LEASE_NAME, operatorNamespace)),
    ).spec.holderIdentity;
  const leaderMetric = async (replica: OperatorProcess) => {
    const text = await replica.metrics();
    return new RegExp(`^${METRIC_NAMES.leader} (\\d)$`, 'm').exec(text)?.[1];
  };

  beforeAll(async () => {
    client = await connectWithCrds();
    await createNamespace(client, operatorNamespace);
    await createNamespace(client, namespace);
  });

  afterAll(async () => {
    await client.request('DELETE', collectionPath(entries, namespace));
    await deleteTrustDomains(client, [`${run}-steady`, `${run}-renewing`]);
    for (const replica of replicas.values()) {
      if (replica.child.exitCode === null && replica.child.signalCode === null) await replica.stop();
    }
    await client.close();
  });

  it('lets only the leader write, and the standby take over within the lease duration when the leader is killed', async () => {
    const a = await startReplica('replica-a');
    await waitFor('replica-a to hold the Lease', async () =>
      (await holder()) === 'replica-a' ? true : undefined,
    );
    const b = await startReplica('replica-b');
    // Ready with warm caches, but standing by.
    expect((await b.probe('/readyz')).status).toBe(200);
    expect(await leaderMetric(a)).toBe('1');
    expect(await leaderMetric(b)).toBe('0');

    const bundle = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } } };
    await createTrustDomain(client, `${run}-steady`, { trustDomain: `${run}-steady.example.org`, bundle });
    // Thirty-second SVIDs (forty with the backdating) renew every 6 to 10 seconds, so renewals run across the failover.
    await createTrustDomain(client, `${run}-renewing`, {
      trustDomain: `${run}-renewing.example.org`,
      svid: { x509TTL: '30s' },
      bundle,
    });
    await waitForReady(client, `${run}-steady`, 'True');
    await waitForReady(client, `${run}-renewing`, 'True');
    await createEntry(client, namespace, 'steady', {
      trustDomainRef: { name: `${run}-steady` },
      spiffeIDPath: `/ns/${namespace}/steady`,
      secret: { name: 'steady-svid' },
    });
    await createEntry(client, namespace, 'renewing', {
      trustDomainRef: { name: `${run}-renewing` },
      spiffeIDPath: `/ns/${namespace}/renewing`,
      secret: { name: 'renewing-svid' },
    });
    await waitForEntry(client, namespace, 'steady', 'True', 'Issued');
    await waitForEntry(client, namespace, 'renewing', 'True', 'Issued');
    const steady = await readSecret(client, namespace, 'steady-svid');
    await waitFor('a renewal by the leader', async () =>
      svidSignings(a).filter((line) => line.signing.spiffeId?.endsWith('/renewing')).length >= 2
        ? true
        : undefined,
    );
    expect(svidSignings(b)).toEqual([]);

    const killedAt = Date.now();
    await a.kill();
    await waitFor(
      'replica-b to take the Lease',
      async () => ((await holder()) === 'replica-b' ? true : undefined),
      30_000,
    );
    const takeoverSeconds = (Date.now() - killedAt) / 1000;
    // The lease duration, plus up to two jittered retry periods (one to see the last renewal, one to
    // try again once it has run out), plus the polling of this test.
    expect(takeoverSeconds).toBeLessThan(LEASE_SECONDS + 2 * RETRY_SECONDS * LEASE_JITTER + 1);
    expect(await leaderMetric(b)).toBe('1');

    // The new leader writes: a new entry is issued, and renewals go on.
    await createEntry(client, namespace, 'after', {
      trustDomainRef: { name: `${run}-steady` },
      spiffeIDPath: `/ns/${namespace}/after`,
      secret: { name: 'after-svid' },
    });
    await waitForEntry(client, namespace, 'after', 'True', 'Issued');
    await waitFor('a renewal by the new leader', async () =>
      svidSignings(b).some((line) => line.signing.spiffeId?.endsWith('/renewing')) ? true : undefined,
    );

    // Nothing already issued was issued again: the steady SVID is the one replica-a wrote.
    expect((await readSecret(client, namespace, 'steady-svid'))?.data['tls.crt']).toBe(
      steady?.data['tls.crt'],
    );
    expect(svidSignings(b).filter((line) => line.signing.spiffeId?.endsWith('/steady'))).toEqual([]);
    // Each renewal was signed once: a renewal comes at least 6 seconds after the last,
    // so two signings close together would be the same renewal issued by both replicas.
    const renewals = [...svidSignings(a), ...svidSignings(b)]
      .filter((line) => line.signing.spiffeId?.endsWith('/renewing'))
      .sort((x, y) => x.time - y.time);
    const gaps = renewals.slice(1).map((line, index) => line.time - (renewals[index]?.time ?? 0));
    expect(Math.min(...gaps), JSON.stringify(renewals)).toBeGreaterThan(2_000);
  });

  it('hands the Lease over at once when the leader stops gracefully', async () => {
    const b = replicas.get('replica-b');
    const c = await startReplica('replica-c');
    expect(await holder()).toBe('replica-b');
    expect(await b?.stop()).toBe(0);
    const stoppedAt = Date.now();
    await waitFor('replica-c to take the released Lease', async () =>
      (await holder()) === 'replica-c' ? true : undefined,
    );
    // Released, not expired: within a jittered retry period or two, where waiting for the lease to run
    // out would take at least its whole duration.
    expect((Date.now() - stoppedAt) / 1000).toBeLessThan(2 * RETRY_SECONDS * LEASE_JITTER + 1);
    expect(await leaderMetric(c)).toBe('1');
  });
});
