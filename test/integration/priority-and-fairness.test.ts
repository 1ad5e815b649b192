import { KubeConfig } from '@kubernetes/client-node';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { collectionPath, coreResources } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import { METRIC_NAMES } from '../../src/observability/metrics.ts';
import { createEntry, entries } from './registration-entries.ts';
import { type ChartInstall, installChart } from './service-account.ts';
import { adminToken, bearer, connectWithCrds, type OperatorProcess, uniqueName, waitFor } from './support.ts';
import { createNamespace, createTrustDomain, deleteTrustDomains, waitForReady } from './trust-domains.ts';

const ENTRIES = 120;
const FLOW_CONTROL = '/apis/flowcontrol.apiserver.k8s.io/v1';

const uidSchema = z.object({ metadata: z.looseObject({ uid: z.string() }) });
const secretListSchema = z.object({
  items: z.array(
    z.object({
      metadata: z.looseObject({ name: z.string() }),
      data: z.record(z.string(), z.string()).optional(),
    }),
  ),
});

/** Reads the apiserver's own endpoints (its /metrics, a response's APF headers) with `token`. */
function apiserver(token: string) {
  const config = new KubeConfig();
  config.loadFromFile(inject('kubeconfig'));
  const cluster = config.getCurrentCluster();
  const dispatcher = new Agent({
    connect: { ca: Buffer.from(cluster?.caData ?? '', 'base64').toString('utf8') },
  });
  return (path: string) => fetch(`${cluster?.server}${path}`, { dispatcher, headers: bearer(token) });
}

/** The sum of a counter's samples whose labels include `label`. */
const counterSum = (text: string, name: string, label: string): number =>
  text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && line.includes(label))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);

/**
 * The operator runs as the chart's ServiceAccount, whose requests (all but its Lease, which the chart's
 * FlowSchema serves at leader-election) API Priority and Fairness puts at a priority level of about
 * three seats that neither borrows nor queues: beyond them the apiserver answers 429 at once.
 */
describe('under API Priority and Fairness at a starved priority level', () => {
  const run = uniqueName('apf');
  const apps = `${run}-apps`;
  const trustDomain = `${run}-td`;
  const level = `${run}-starved`;
  let admin: RestClient;
  let chart: ChartInstall;
  let operator: OperatorProcess;

  beforeAll(async () => {
    admin = await connectWithCrds();
    await createNamespace(admin, apps);
    chart = await installChart(admin, run, [`secretNamespaces={${apps}}`, 'replicas=1']);
    const priorityLevel = uidSchema.parse(
      await admin.request('POST', `${FLOW_CONTROL}/prioritylevelconfigurations`, {
        body: {
          apiVersion: 'flowcontrol.apiserver.k8s.io/v1',
          kind: 'PriorityLevelConfiguration',
          metadata: { name: level },
          spec: {
            type: 'Limited',
            limited: {
              nominalConcurrencyShares: 1,
              lendablePercent: 0,
              borrowingLimitPercent: 0,
              limitResponse: { type: 'Reject' },
            },
          },
        },
      }),
    );
    await admin.request('POST', `${FLOW_CONTROL}/flowschemas`, {
      body: {
        apiVersion: 'flowcontrol.apiserver.k8s.io/v1',
        kind: 'FlowSchema',
        metadata: { name: level },
        spec: {
          priorityLevelConfiguration: { name: level },
          // After the chart's Lease schema (200), before the built-in service-accounts one (9000).
          matchingPrecedence: 500,
          distinguisherMethod: { type: 'ByUser' },
          rules: [
            {
              subjects: [
                {
                  kind: 'ServiceAccount',
                  serviceAccount: { name: chart.release, namespace: chart.namespace },
                },
              ],
              resourceRules: [
                { verbs: ['*'], apiGroups: ['*'], resources: ['*'], clusterScope: true, namespaces: ['*'] },
              ],
              nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
            },
          ],
        },
      },
    });
    // The apiserver names in each answer the priority level that served it: wait until it is ours.
    const restricted = new KubeConfig();
    restricted.loadFromFile(chart.kubeconfig);
    const asOperator = apiserver(restricted.getCurrentUser()?.token ?? '');
    await waitFor(`requests of the operator's ServiceAccount served at ${level}`, async () => {
      const response = await asOperator(collectionPath(coreResources.secrets, apps));
      await response.body?.cancel();
      return response.headers.get('x-kubernetes-pf-prioritylevel-uid') === priorityLevel.metadata.uid
        ? true
        : undefined;
    });
    operator = await chart.startOperator({
      TRUSTLINE_SECRET_NAMESPACES: apps,
      TRUSTLINE_LEADER_ELECTION: 'true',
      LOG_LEVEL: 'info',
    });
    await createTrustDomain(admin, trustDomain, { trustDomain: `${run}.example.org` });
    await waitForReady(admin, trustDomain, 'True');
  }, 180_000);

  afterAll(async () => {
    await admin.request('DELETE', collectionPath(entries, apps));
    await deleteTrustDomains(admin, [trustDomain]);
    if (operator?.child.exitCode === null) await operator.stop();
    await admin.request('DELETE', `${FLOW_CONTROL}/flowschemas/${level}`);
    await admin.request('DELETE', `${FLOW_CONTROL}/prioritylevelconfigurations/${level}`);
    await chart.uninstall();
    await admin.close();
  }, 120_000);

  it(`is refused with 429, keeps its Lease and still brings each of ${ENTRIES} entries created at once to its Secret`, async () => {
    const names = Array.from({ length: ENTRIES }, (_, i) => `burst-${i}`);
    await Promise.all(
      names.map((name) =>
        createEntry(admin, apps, name, {
          trustDomainRef: { name: trustDomain },
          spiffeIDPath: `/ns/${apps}/sa/${name}`,
          secret: { name },
        }),
      ),
    );

    const issued = await waitFor(
      `a Secret with an SVID for each of the ${ENTRIES} entries`,
      async () => {
        const list = secretListSchema.parse(
          await admin.request('GET', collectionPath(coreResources.secrets, apps)),
        );
        const withSvid = new Set(
          list.items.filter((secret) => secret.data?.['tls.crt']).map((secret) => secret.metadata.name),
        );
        return names.every((name) => withSvid.has(name)) ? withSvid : undefined;
      },
      240_000,
    );
    expect(names.filter((name) => !issued.has(name))).toEqual([]);

    // The apiserver's count of what it refused at this level, and the operator's of throttled answers.
    const apiserverMetrics = await (await apiserver(adminToken())('/metrics')).text();
    const rejected = counterSum(
      apiserverMetrics,
      'apiserver_flowcontrol_rejected_requests_total',
      `priority_level="${level}"`,
    );
    expect(rejected).toBeGreaterThan(0);
    const operatorMetrics = await operator.metrics();
    const refused = counterSum(operatorMetrics, METRIC_NAMES.apiRequests, 'code="429"');
    // Only the operator signs in as this ServiceAccount once the level is in place: each refusal reached it.
    expect(refused).toBeGreaterThanOrEqual(rejected);
    // Throttled as its work was, the operator kept its Lease (served at leader-election): a replica
    // that loses it exits, and one that stands by reports 0.
    expect(operator.child.exitCode).toBeNull();
    expect(operatorMetrics).toMatch(new RegExp(`^${METRIC_NAMES.leader} 1$`, 'm'));
  }, 300_000);
});
