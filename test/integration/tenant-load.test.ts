import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { percentile } from '../../bench/stats.ts';
import { LEADER_LEASE_NAME } from '../../src/deploy/names.ts';
import { KubeApiError } from '../../src/kube/errors.ts';
import { Informer } from '../../src/kube/informer.ts';
import { collectionPath, coreResources, leaseResource, objectPath } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import { parseEventLoopDelay } from '../fixtures/event-loop-delay.ts';
import { createEntry, entries } from './registration-entries.ts';
import { type ChartInstall, installChart } from './service-account.ts';
import { connectWithCrds, type OperatorProcess, uniqueName, waitFor } from './support.ts';
import { createNamespace, createTrustDomain, deleteTrustDomains, waitForReady } from './trust-domains.ts';

const HOSTILE_ENTRIES = 30;
const VICTIM_ENTRIES = 20;
const CHURN_WARM_UP_MS = 10_000;
const VICTIM_SPACING_MS = 750;
/** The operator's default renew deadline: a leader that goes this long without renewing gives up. */
const RENEW_DEADLINE_MS = 10_000;

const signingSchema = z.object({ signing: z.object({ operation: z.string(), for: z.string() }) });

const leaseSchema = z.object({
  spec: z.object({ holderIdentity: z.string().optional(), renewTime: z.string().optional() }),
});

/**
 * A hostile namespace churns RSA-4096 SVIDs with 10-second TTLs; a victim namespace's entries must
 * still be issued promptly, and the leader must keep its Lease. The operator runs as the chart's
 * ServiceAccount with leader election on, as it runs in a cluster.
 */
describe('one namespace cannot stall the operator', () => {
  const run = uniqueName('load');
  const hostile = `${run}-hostile`;
  const victim = `${run}-victim`;
  const trustDomain = `${run}-td`;
  let admin: RestClient;
  let chart: ChartInstall;
  let operator: OperatorProcess;

  beforeAll(async () => {
    admin = await connectWithCrds();
    for (const namespace of [hostile, victim]) await createNamespace(admin, namespace);
    chart = await installChart(admin, run, [`secretNamespaces={${hostile},${victim}}`, 'replicas=1']);
    operator = await chart.startOperator({
      TRUSTLINE_SECRET_NAMESPACES: `${hostile},${victim}`,
      TRUSTLINE_LEADER_ELECTION: 'true',
      LOG_LEVEL: 'info',
    });
    await createTrustDomain(admin, trustDomain, {
      trustDomain: `${run}.example.org`,
      // A sixth of the CA lifetime bounds SVID lifetimes: the default and ten seconds both fit an hour.
      ca: { ttl: '1h' },
      svid: { x509TTL: '5m' },
    });
    await waitForReady(admin, trustDomain, 'True');
  }, 120_000);

  afterAll(async () => {
    for (const namespace of [hostile, victim])
      await admin.request('DELETE', collectionPath(entries, namespace));
    await deleteTrustDomains(admin, [trustDomain]);
    if (operator.child.exitCode === null) await operator.stop();
    await chart.uninstall();
    await admin.close();
  });

  it('refuses a Secret with more labels than the schema allows', async () => {
    const labels = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`flood-${i}`, 'x']));
    const refused = await createEntry(admin, hostile, 'too-many-labels', {
      trustDomainRef: { name: trustDomain },
      spiffeIDPath: `/ns/${hostile}/sa/flood`,
      secret: { name: 'flood', labels },
    }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(KubeApiError);
    expect(String(refused)).toContain('spec.secret.labels: Too many: 65: must have at most 64 items');
  });

  it("issues another namespace's SVIDs promptly and keeps the Lease while a namespace churns RSA-4096 keys", async () => {
    for (let i = 0; i < HOSTILE_ENTRIES; i++) {
      await createEntry(admin, hostile, `churn-${i}`, {
        trustDomainRef: { name: trustDomain },
        spiffeIDPath: `/ns/${hostile}/sa/churn-${i}`,
        x509: { keyType: 'RSA-4096', ttl: '10s' },
        secret: { name: `churn-${i}` },
      });
    }

    // The Lease as the leader keeps it: sampled every half second from here on.
    const renewals = new Set<string>();
    const holders = new Set<string>();
    let renewedAt = performance.now();
    let longestWithoutRenewal = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const lease = leaseSchema.parse(
          await admin.request('GET', objectPath(leaseResource, LEADER_LEASE_NAME, chart.namespace)),
        );
        holders.add(lease.spec.holderIdentity ?? '');
        const sampledAt = performance.now();
        if (lease.spec.renewTime && !renewals.has(lease.spec.renewTime)) {
          renewals.add(lease.spec.renewTime);
          renewedAt = sampledAt;
        }
        longestWithoutRenewal = Math.max(longestWithoutRenewal, sampledAt - renewedAt);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    })();

    // Each victim Secret is timed from the entry's creation to the watch event that brings the Secret.
    const appeared = new Map<string, number>();
    const secrets = new Informer(admin, {
      resource: coreResources.secrets,
      namespace: victim,
      log: pino({ level: 'silent' }),
      onChange: (change, object) => {
        if (change !== 'deleted' && !appeared.has(object.metadata.name))
          appeared.set(object.metadata.name, performance.now());
      },
    });
    await secrets.start();
    const delays: number[] = [];
    try {
      await waitFor(
        'the hostile namespace to churn',
        async () => {
          const list = z
            .object({ items: z.array(z.unknown()) })
            .parse(await admin.request('GET', collectionPath(coreResources.secrets, hostile)));
          return list.items.length >= 5 ? true : undefined;
        },
        90_000,
      );
      await new Promise((resolve) => setTimeout(resolve, CHURN_WARM_UP_MS));
      for (let i = 0; i < VICTIM_ENTRIES; i++) {
        const name = `first-${i}`;
        const created = performance.now();
        await createEntry(admin, victim, name, {
          trustDomainRef: { name: trustDomain },
          spiffeIDPath: `/ns/${victim}/sa/${name}`,
          secret: { name },
        });
        const at = await waitFor(`the victim's Secret ${name}`, async () => appeared.get(name), 30_000);
        delays.push(at - created);
        // One by one, spread over the churn.
        await new Promise((resolve) => setTimeout(resolve, VICTIM_SPACING_MS));
      }
    } finally {
      sampling = false;
      await sampler;
      await secrets.stop();
    }

    const loop = parseEventLoopDelay(await operator.metrics());
    console.info(
      `victim SVID delay over ${delays.length} entries: p50 ${Math.round(percentile(delays, 50))} ms, p99 ${Math.round(percentile(delays, 99))} ms, max ${Math.round(Math.max(...delays))} ms; operator event-loop delay p99 ${Math.round(loop.p99)} ms, max ${Math.round(loop.max)} ms; ${renewals.size} Lease renewals seen, at most ${Math.round(longestWithoutRenewal)} ms apart`,
    );
    expect(percentile(delays, 99)).toBeLessThan(2_000);
    // One holder throughout, renewing every retry period (2 s), never near its renew deadline.
    expect([...holders]).toEqual([`${chart.release}-0`]);
    expect(renewals.size).toBeGreaterThan(10);
    expect(longestWithoutRenewal).toBeLessThan(RENEW_DEADLINE_MS / 2);
    expect(operator.child.exitCode).toBeNull();
    expect(operator.log).not.toContain('lost the leader Lease');
    expect(operator.log).not.toContain('lost leadership');
    // The churn is real: the audit stream shows the hostile RSA-4096 SVIDs signed again and again.
    const hostileSignings = operator.entries().filter((line) => {
      const signing = signingSchema.safeParse(line).data?.signing;
      return signing?.operation === 'x509-svid' && signing.for.startsWith(`RegistrationEntry/${hostile}/`);
    }).length;
    console.info(`hostile X.509-SVIDs signed during the run: ${hostileSignings}`);
    expect(hostileSignings).toBeGreaterThan(HOSTILE_ENTRIES);
  }, 240_000);
});
