import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, fetch } from 'undici';
import { stringify } from 'yaml';
import type { ControlPlaneBinaries } from './build.ts';
import { isAlive } from './process.ts';

/** The feature gates and API versions Trustline's projected-volume mode needs from the pinned release. */
export const FEATURE_GATES =
  'PodCertificateRequest=true,ClusterTrustBundle=true,ClusterTrustBundleProjection=true';
/** v1 is served by default in 1.37; v1beta1 as well lets Trustline's API version discovery be exercised. */
export const RUNTIME_CONFIG = 'certificates.k8s.io/v1beta1=true';

export interface RunningControlPlane {
  dir: string;
  kubeconfig: string;
  server: string;
  token: string;
  caCertificate: string;
}

interface State extends RunningControlPlane {
  pids: number[];
}

const STATE_FILE = 'state.json';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function waitFor(what: string, logFile: string, deadlineMs: number, probe: () => Promise<boolean>) {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await sleep(250);
  }
  const log = await readFile(logFile, 'utf8').catch(() => '');
  throw new Error(
    `${what} did not become ready within ${deadlineMs / 1000}s; last log lines:\n${log.slice(-3000)}`,
  );
}

/** Starts a process detached, so `cluster:up` can return while the control plane keeps running. */
function start(command: string, args: string[], logFile: string): ChildProcess {
  const out = openSync(logFile, 'a');
  const child = spawn(command, args, { detached: true, stdio: ['ignore', out, out] });
  child.unref();
  return child;
}

export function kubeconfigFor(server: string, caCertificate: string, token: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'trustline-dev',
        cluster: { server, 'certificate-authority-data': Buffer.from(caCertificate).toString('base64') },
      },
    ],
    users: [{ name: 'admin', user: { token } }],
    contexts: [{ name: 'trustline-dev', context: { cluster: 'trustline-dev', user: 'admin' } }],
    'current-context': 'trustline-dev',
  });
}

/** Stops whatever a previous start left in `dir` and removes its data. */
export async function stopControlPlane(dir: string): Promise<void> {
  const state = await readState(dir);
  if (state) {
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      for (const pid of state.pids) {
        try {
          process.kill(pid, signal);
        } catch {}
      }
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && state.pids.some(isAlive)) await sleep(100);
      if (!state.pids.some(isAlive)) break;
    }
  }
  await rm(dir, { recursive: true, force: true });
}

/** The control plane recorded in `dir`, if every one of its processes is still running. */
export async function runningControlPlane(dir: string): Promise<RunningControlPlane | undefined> {
  const state = await readState(dir);
  return state?.kubeconfig && state.pids.every(isAlive) ? state : undefined;
}

async function readState(dir: string): Promise<State | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')) as State;
  } catch {
    return undefined;
  }
}

/**
 * Starts etcd, kube-apiserver and kube-controller-manager on free loopback ports, with data and logs in
 * `dir`, and writes `dir/kubeconfig` for a `system:masters` user.
 */
export async function startControlPlane(
  binaries: ControlPlaneBinaries,
  dir: string,
  log: (message: string) => void = () => {},
): Promise<RunningControlPlane> {
  await stopControlPlane(dir);
  const pki = join(dir, 'pki');
  await mkdir(pki, { recursive: true });
  const pids: number[] = [];
  const saveState = async (extra: Partial<RunningControlPlane> = {}) =>
    writeFile(join(dir, STATE_FILE), JSON.stringify({ dir, pids, ...extra }, null, 2));

  try {
    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const etcdLog = join(dir, 'etcd.log');
    log(`etcd ${binaries.etcdVersion} on ${etcdUrl}`);
    const etcd = start(
      binaries.etcd,
      [
        '--name=trustline-dev',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=trustline-dev=http://127.0.0.1:${peerPort}`,
        // Test data is thrown away; fsync only slows every write on a shared disk.
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      etcdLog,
    );
    pids.push(etcd.pid ?? 0);
    await saveState();
    await waitFor('etcd', etcdLog, 30_000, async () => (await fetch(`${etcdUrl}/health`)).ok);

    const token = randomBytes(24).toString('hex');
    await writeFile(join(pki, 'tokens.csv'), `${token},admin,admin-uid,"system:masters"\n`, { mode: 0o600 });
    const serviceAccountKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(
      join(pki, 'sa.key'),
      serviceAccountKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      { mode: 0o600 },
    );
    await writeFile(
      join(pki, 'sa.pub'),
      serviceAccountKey.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    );

    const server = `https://127.0.0.1:${apiPort}`;
    const apiLog = join(dir, 'kube-apiserver.log');
    log(`kube-apiserver ${binaries.kubernetesVersion} on ${server}`);
    const apiserver = start(
      binaries.kubeApiserver,
      [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--cert-dir=${join(pki, 'serving')}`,
        `--token-auth-file=${join(pki, 'tokens.csv')}`,
        '--authorization-mode=Node,RBAC',
        '--enable-admission-plugins=NodeRestriction',
        '--service-account-issuer=https://kubernetes.default.svc',
        `--service-account-key-file=${join(pki, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
        '--service-cluster-ip-range=10.96.0.0/16',
        `--feature-gates=${FEATURE_GATES}`,
        `--runtime-config=${RUNTIME_CONFIG}`,
        '--endpoint-reconciler-type=none',
      ],
      apiLog,
    );
    pids.push(apiserver.pid ?? 0);
    await saveState();
    const insecure = new Agent({ connect: { rejectUnauthorized: false } });
    await waitFor('kube-apiserver', apiLog, 120_000, async () => {
      const response = await fetch(`${server}/readyz`, {
        dispatcher: insecure,
        headers: { authorization: `Bearer ${token}` },
      });
      return response.ok;
    });
    await insecure.close();
    // The self-signed serving certificate the apiserver made for itself is the trust anchor of the kubeconfig.
    const caCertificate = await readFile(join(pki, 'serving', 'apiserver.crt'), 'utf8');
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, kubeconfigFor(server, caCertificate, token), { mode: 0o600 });

    const kcmLog = join(dir, 'kube-controller-manager.log');
    log(
      'kube-controller-manager (namespace, garbage-collector, service-account and cluster-role aggregation controllers)',
    );
    const controllerManager = start(
      binaries.kubeControllerManager,
      [
        `--kubeconfig=${kubeconfig}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        '--controllers=namespace-controller,garbage-collector-controller,serviceaccount-controller,serviceaccount-token-controller,clusterrole-aggregation-controller',
        `--service-account-private-key-file=${join(pki, 'sa.key')}`,
        `--root-ca-file=${join(pki, 'serving', 'apiserver.crt')}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        `--secure-port=${await freePort()}`,
      ],
      kcmLog,
    );
    pids.push(controllerManager.pid ?? 0);
    const running: RunningControlPlane = { dir, kubeconfig, server, token, caCertificate };
    await saveState(running);
    return running;
  } catch (error) {
    await stopControlPlane(dir).catch(() => {});
    throw error;
  }
}
