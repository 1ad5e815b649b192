import { KubeConfig } from '@kubernetes/client-node';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { configFromEnvironment } from '../../src/config.ts';
import { journalSecretName } from '../../src/core/authorities/journal-codec.ts';
import { LEADER_LEASE_NAME } from '../../src/deploy/names.ts';
import { collectionPath, coreResources, leaseResource, objectPath } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import { serviceAccountToken } from '../fixtures/service-accounts.ts';
import { createKeyRevocation, waitForRevocation } from './key-revocations.ts';
import { createServiceAccount } from './pod-certificates.ts';
import { createEntry, entries, readEntry, readSecret, waitForEntry } from './registration-entries.ts';
import { CHART, type ChartInstall, installChart } from './service-account.ts';
import { connectWithCrds, helm, kubectl, type OperatorProcess, uniqueName, waitFor } from './support.ts';
import {
  activeX509,
  createNamespace,
  createTrustDomain,
  deleteTrustDomains,
  readJournal,
  trustDomains,
  waitForReady,
} from './trust-domains.ts';

const objectSchema = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: z.looseObject({ name: z.string(), namespace: z.string().optional() }),
});
type RenderedObject = z.infer<typeof objectSchema>;

const parseObjects = (text: string): RenderedObject[] =>
  parseAllDocuments(text)
    .map((document) => document.toJS())
    .filter((value) => value !== null)
    .map((value) => objectSchema.parse(value));

const identify = (object: RenderedObject) =>
  `${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;

async function template(...args: string[]): Promise<RenderedObject[]> {
  const rendered = await helm(['template', 'trustline', CHART, '--namespace', 'trustline-system', ...args]);
  expect(rendered.code, rendered.stderr).toBe(0);
  return parseObjects(rendered.stdout);
}

const containerSchema = z.object({
  env: z.array(z.object({ name: z.string(), value: z.string().optional() })),
});
const deploymentSchema = z.object({
  spec: z.object({ template: z.object({ spec: z.object({ containers: z.array(containerSchema) }) }) }),
});

/** What the operator would read from the Deployment's literal environment variables. */
function operatorSettings(objects: RenderedObject[]) {
  const deployment = deploymentSchema.parse(objects.find((object) => object.kind === 'Deployment'));
  const env = Object.fromEntries(
    (deployment.spec.template.spec.containers[0]?.env ?? []).flatMap(({ name, value }) =>
      value === undefined ? [] : [[name, value]],
    ),
  );
  return configFromEnvironment({ ...env, POD_NAMESPACE: 'trustline-system' });
}

const secretRoles = (objects: RenderedObject[]) =>
  objects
    .filter((object) => object.kind.includes('Role') && object.metadata.name.endsWith('-svid-secrets'))
    .map(identify)
    .sort();

describe('the Helm chart', () => {
  it('passes helm lint, with its values schema', async () => {
    const linted = await helm(['lint', '--strict', CHART]);
    expect(linted.code, linted.stdout + linted.stderr).toBe(0);
    expect(linted.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
  });

  it('refuses values its schema does not allow, naming them', async () => {
    const zero = await helm(['template', 'trustline', CHART, '--set', 'replicas=0']);
    expect(zero.code).not.toBe(0);
    expect(zero.stderr).toMatch(/replicas/);
    const typo = await helm(['template', 'trustline', CHART, '--set', 'secretNamespace={shop}']);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toMatch(/secretNamespace/);
    const badNamespace = await helm(['template', 'trustline', CHART, '--set', 'secretNamespaces={Shop_1}']);
    expect(badNamespace.code).not.toBe(0);
    expect(badNamespace.stderr).toMatch(/secretNamespaces/);
  });

  it('installs the same objects as `kubectl apply -k config/default`', async () => {
    const chart = await template('--include-crds');
    const kustomized = await kubectl(['kustomize', 'config/default']);
    expect(kustomized.code, kustomized.stderr).toBe(0);
    // The namespace is Helm's to create (`--create-namespace`); everything else must match.
    const base = parseObjects(kustomized.stdout).filter((object) => object.kind !== 'Namespace');
    const byIdentity = (objects: RenderedObject[]) =>
      Object.fromEntries(objects.map((object) => [identify(object), object]));
    expect(byIdentity(chart)).toEqual(byIdentity(base));
  });

  it('runs the operator hardened: non-root, read-only root, no privilege escalation, RuntimeDefault seccomp, with limits', async () => {
    const deployment = (await template()).find((object) => object.kind === 'Deployment');
    expect(deployment).toMatchObject({
      spec: {
        replicas: 2,
        template: {
          spec: {
            securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ['ALL'] },
                },
                resources: {
                  requests: { cpu: expect.any(String), memory: expect.any(String) },
                  limits: { cpu: expect.any(String), memory: expect.any(String) },
                },
                readinessProbe: { httpGet: { path: '/readyz', port: 'http-probes' } },
                livenessProbe: { httpGet: { path: '/healthz', port: 'http-probes' } },
              },
            ],
          },
        },
      },
    });
    const kinds = (await template()).map((object) => object.kind);
    expect(kinds).toEqual(expect.arrayContaining(['ServiceAccount', 'Service', 'PodDisruptionBudget']));
    expect(kinds).not.toContain('ServiceMonitor');
    const monitored = await template(
      '--set',
      'serviceMonitor.enabled=true',
      '--set',
      'podDisruptionBudget.enabled=false',
    );
    expect(monitored.find((object) => object.kind === 'ServiceMonitor')).toMatchObject({
      spec: {
        endpoints: [
          {
            port: 'https-metrics',
            scheme: 'https',
            bearerTokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
          },
        ],
      },
    });
    expect(monitored.map((object) => object.kind)).not.toContain('PodDisruptionBudget');
  });

  it('serves metrics securely on the Service, probes on a port of their own, and ships a role for scrapers', async () => {
    const objects = await template();
    expect(operatorSettings(objects)).toMatchObject({
      metrics: { port: 8080 },
      metricsSecure: true,
      probes: { port: 8081 },
    });
    expect(objects.find((object) => object.kind === 'Service')).toMatchObject({
      spec: { ports: [{ name: 'https-metrics', port: 8080, targetPort: 'https-metrics' }] },
    });
    expect(objects.find((object) => object.metadata.name === 'trustline-metrics-reader')).toMatchObject({
      kind: 'ClusterRole',
      rules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }],
    });
    expect(objects.map(identify)).not.toContain('ClusterRoleBinding//trustline-metrics-reader');

    const prometheus = ['kind=ServiceAccount', 'name=prometheus-k8s', 'namespace=monitoring'];
    const bound = await template('--set', prometheus.map((value) => `metricsReaders[0].${value}`).join(','));
    expect(
      bound.find((object) => identify(object) === 'ClusterRoleBinding//trustline-metrics-reader'),
    ).toMatchObject({
      roleRef: { kind: 'ClusterRole', name: 'trustline-metrics-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'prometheus-k8s', namespace: 'monitoring' }],
    });
    const withoutKind = await helm([
      'template',
      'trustline',
      CHART,
      '--set',
      'metricsReaders[0].name=prometheus',
    ]);
    expect(withoutKind.code).not.toBe(0);
    expect(withoutKind.stderr).toMatch(/metricsReaders/);
  });

  it('renders Secret mode cluster-wide by default, with the operator configured to match', async () => {
    const objects = await template();
    expect(secretRoles(objects)).toEqual([
      'ClusterRole//trustline-svid-secrets',
      'ClusterRoleBinding//trustline-svid-secrets',
    ]);
    expect(operatorSettings(objects)).toMatchObject({
      namespace: 'trustline-system',
      secretNamespaces: undefined,
    });
  });

  it('renders Secret mode for a list of namespaces as a Role in each, with the operator limited to them', async () => {
    const objects = await template('--set', 'secretNamespaces={shop,payments}');
    expect(secretRoles(objects)).toEqual([
      'Role/payments/trustline-svid-secrets',
      'Role/shop/trustline-svid-secrets',
      'RoleBinding/payments/trustline-svid-secrets',
      'RoleBinding/shop/trustline-svid-secrets',
    ]);
    expect(operatorSettings(objects).secretNamespaces).toEqual(['shop', 'payments']);
  });

  it('renders projected-volumes-only mode with no Secret rights outside its namespace', async () => {
    const objects = await template('--set', 'svidSecrets=false');
    expect(secretRoles(objects)).toEqual([]);
    expect(operatorSettings(objects).secretNamespaces).toEqual([]);
  });
});

const uidSchema = z.object({ metadata: z.object({ uid: z.string() }) });

/** The FlowSchema and priority level API Priority and Fairness classified a request under. */
async function classification(
  apiserver: { server: string; ca: string },
  token: string,
  request: { method: string; path: string; body?: unknown },
) {
  const response = await fetch(`${apiserver.server}${request.path}`, {
    method: request.method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: request.body === undefined ? undefined : JSON.stringify(request.body),
    dispatcher: new Agent({ connect: { ca: apiserver.ca } }),
  });
  await response.arrayBuffer();
  expect(response.status, `${request.method} ${request.path}`).toBeLessThan(300);
  return {
    flowSchema: response.headers.get('x-kubernetes-pf-flowschema-uid'),
    priorityLevel: response.headers.get('x-kubernetes-pf-prioritylevel-uid'),
  };
}

/**
 * The chart installed into the real control plane, and the operator run with nothing but a token for
 * the chart's ServiceAccount: the chart's RBAC must carry issuing, renewal and revocation.
 */
describe('least privilege: the operator on the chart RBAC alone', () => {
  const run = uniqueName('chart');
  const allowed = `${run}-allowed`;
  const other = `${run}-other`;
  const trustDomain = `${run}-td`;
  let admin: RestClient;
  let restricted: RestClient;
  let chart: ChartInstall;
  let operator: OperatorProcess;
  let apiserver = { server: '', ca: '' };
  let operatorNamespace = '';
  let release = '';

  beforeAll(async () => {
    admin = await connectWithCrds();
    for (const namespace of [allowed, other]) await createNamespace(admin, namespace);
    chart = await installChart(admin, run, [`secretNamespaces={${allowed}}`, 'replicas=1']);
    restricted = chart.restricted;
    operatorNamespace = chart.namespace;
    release = chart.release;
    const cluster = (() => {
      const config = new KubeConfig();
      config.loadFromFile(inject('kubeconfig'));
      return config.getCurrentCluster();
    })();
    apiserver = {
      server: cluster?.server ?? '',
      ca: Buffer.from(cluster?.caData ?? '', 'base64').toString('utf8'),
    };
    operator = await chart.startOperator({ TRUSTLINE_SECRET_NAMESPACES: allowed });
  });

  afterAll(async () => {
    await admin.request('DELETE', collectionPath(entries, allowed));
    await deleteTrustDomains(admin, [trustDomain]);
    if (operator.child.exitCode === null) await operator.stop();
    await chart.uninstall();
    await admin.close();
  });

  it("reviews a scraper's token and access with only the ServiceAccount token", async () => {
    // 200 needs both reviews to pass with the chart's RBAC; without the rights they fail with 500.
    expect((await operator.fetchMetrics()).status).toBe(200);
    expect((await operator.fetchMetrics({})).status).toBe(401);
  });

  it('issues, renews and revokes with only the ServiceAccount token', async () => {
    await createTrustDomain(admin, trustDomain, {
      trustDomain: `${run}.example.org`,
      // Thirty-second SVIDs renew within about ten seconds.
      svid: { x509TTL: '30s' },
      bundle: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': allowed } } },
    });
    await waitForReady(admin, trustDomain, 'True');
    await createEntry(admin, allowed, 'web', {
      trustDomainRef: { name: trustDomain },
      spiffeIDPath: `/ns/${allowed}/web`,
      secret: { name: 'web-svid' },
    });
    const issued = await waitForEntry(admin, allowed, 'web', 'True', 'Issued');
    expect((await readSecret(admin, allowed, 'web-svid'))?.data['tls.crt']).toContain('BEGIN CERTIFICATE');

    await waitFor('a renewal', async () => {
      const entry = await readEntry(admin, allowed, 'web');
      return entry.status?.svid?.serial !== issued.status?.svid?.serial ? true : undefined;
    });

    const journal = await readJournal(admin, chart.namespace, `${run}.example.org`);
    const target = activeX509(journal?.journal ?? expect.fail('no journal'));
    await createKeyRevocation(admin, `${run}-revoke`, {
      trustDomainRef: { name: trustDomain },
      authority: { kind: 'X509', id: target.id },
      reason: 'KeyCompromise',
    });
    await waitForRevocation(admin, `${run}-revoke`, 'Revoked', 'Revoked');
    const reissued = await readEntry(admin, allowed, 'web');
    expect(reissued.status?.svid?.authorityID).not.toBe(target.id);

    // The chart's RBAC carried all of it: the apiserver refused nothing the operator asked.
    expect(operator.log).not.toMatch(/forbidden/i);
  });

  it("serves the operator's Lease requests at leader-election priority, and not a tenant's that copies its names", async () => {
    const uidOf = async (path: string) => uidSchema.parse(await admin.request('GET', path)).metadata.uid;
    const flowcontrol = '/apis/flowcontrol.apiserver.k8s.io/v1';
    const ours = await uidOf(`${flowcontrol}/flowschemas/${release}-leader-election`);
    const leaderElection = await uidOf(`${flowcontrol}/prioritylevelconfigurations/leader-election`);
    const generic = await uidOf(`${flowcontrol}/flowschemas/service-accounts`);
    const operatorToken = await serviceAccountToken(admin, operatorNamespace, release);
    const lease = objectPath(leaseResource, LEADER_LEASE_NAME, operatorNamespace);
    expect(await classification(apiserver, operatorToken, { method: 'GET', path: lease })).toEqual({
      flowSchema: ours,
      priorityLevel: leaderElection,
    });

    // A tenant names its ServiceAccount and its Lease as the operator's, and is granted Leases in its namespace.
    await createServiceAccount(admin, other, release);
    await admin.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${other}/roles`, {
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'leases' },
        rules: [{ apiGroups: [leaseResource.group], resources: [leaseResource.plural], verbs: ['*'] }],
      },
    });
    await admin.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${other}/rolebindings`, {
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'leases' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'leases' },
        subjects: [{ kind: 'ServiceAccount', name: release, namespace: other }],
      },
    });
    const tenantToken = await serviceAccountToken(admin, other, release);
    const tenant = await classification(apiserver, tenantToken, {
      method: 'POST',
      path: collectionPath(leaseResource, other),
      body: {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: LEADER_LEASE_NAME },
        spec: { holderIdentity: 'tenant' },
      },
    });
    expect(tenant).toEqual({ flowSchema: generic, priorityLevel: expect.any(String) });
    expect(tenant.priorityLevel).not.toBe(leaderElection);
  });

  it('cannot read or write Secrets outside its namespace and the listed ones, nor write TrustDomains or delete keys', async () => {
    const refused = async (method: string, path: string, body?: unknown) => {
      const status = await restricted.request(method, path, body === undefined ? {} : { body }).then(
        () => 200,
        (error: unknown) => (error instanceof Error && 'status' in error ? error.status : 0),
      );
      expect(status, `${method} ${path}`).toBe(403);
    };
    const secret = (namespace: string) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'planted', namespace },
      stringData: { 'tls.key': 'x' },
    });
    await refused('GET', collectionPath(coreResources.secrets, other));
    await refused('GET', collectionPath(coreResources.secrets));
    await refused('GET', objectPath(coreResources.secrets, 'default-token', 'kube-system'));
    await refused('POST', collectionPath(coreResources.secrets, other), secret(other));
    // A TrustDomain's keys are its journal: the operator never deletes one, so it may not.
    await refused(
      'DELETE',
      objectPath(coreResources.secrets, journalSecretName(`${run}.example.org`), chart.namespace),
    );
    // TrustDomains belong to the platform team: no create and no update (patch is for finalizers).
    await refused('POST', collectionPath(trustDomains), {
      apiVersion: 'trustline.dev/v1alpha1',
      kind: 'TrustDomain',
      metadata: { name: `${run}-planted` },
      spec: { trustDomain: `${run}-planted.example.org` },
    });
    const current = await admin.request('GET', objectPath(trustDomains, trustDomain));
    await refused('PUT', objectPath(trustDomains, trustDomain), current);
  });
});
