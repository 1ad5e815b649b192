import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { expect, inject } from 'vitest';
import { kubeconfigFor } from '../../hack/controlplane/cluster.ts';
import { RestClient } from '../../src/kube/rest.ts';
import { serviceAccountToken } from '../fixtures/service-accounts.ts';
import { helm, OperatorProcess } from './support.ts';

export const CHART = 'charts/trustline';

/** The chart installed for a test, and a kubeconfig that signs in as its ServiceAccount. */
export interface ChartInstall {
  release: string;
  namespace: string;
  /** A kubeconfig file with a token of the chart's ServiceAccount, and nothing else. */
  kubeconfig: string;
  /** A client with that token. */
  restricted: RestClient;
  /** Starts the operator on the ServiceAccount's token, its Lease in the release namespace. */
  startOperator: (env: Record<string, string>) => Promise<OperatorProcess>;
  uninstall: () => Promise<void>;
}

/**
 * Installs the chart as release `<run>-trustline` in namespace `<run>-system` (the Deployment never
 * runs: the control plane has no kubelet), and signs in as its ServiceAccount, so the operator the test
 * starts holds only the chart's RBAC and meets API Priority and Fairness as it does in a cluster.
 */
export async function installChart(admin: RestClient, run: string, values: string[]): Promise<ChartInstall> {
  const release = `${run}-trustline`;
  const namespace = `${run}-system`;
  const installed = await helm([
    'install',
    release,
    CHART,
    '--namespace',
    namespace,
    '--create-namespace',
    ...values.flatMap((value) => ['--set', value]),
  ]);
  expect(installed.code, installed.stderr).toBe(0);

  const token = await serviceAccountToken(admin, namespace, release);
  const adminConfig = new KubeConfig();
  adminConfig.loadFromFile(inject('kubeconfig'));
  const cluster = adminConfig.getCurrentCluster();
  const ca = Buffer.from(cluster?.caData ?? '', 'base64').toString('utf8');
  const kubeconfig = join(await mkdtemp(join(tmpdir(), 'trustline-chart-')), 'kubeconfig');
  await writeFile(kubeconfig, kubeconfigFor(cluster?.server ?? '', ca, token), { mode: 0o600 });
  const restrictedConfig = new KubeConfig();
  restrictedConfig.loadFromFile(kubeconfig);
  const restricted = await RestClient.fromKubeConfig(restrictedConfig);
  return {
    release,
    namespace,
    kubeconfig,
    restricted,
    startOperator: (env) =>
      OperatorProcess.start({
        KUBECONFIG: kubeconfig,
        TRUSTLINE_NAMESPACE: namespace,
        POD_NAME: `${release}-0`,
        ...env,
      }),
    uninstall: async () => {
      await restricted.close();
      await helm(['uninstall', release, '--namespace', namespace]);
    },
  };
}
