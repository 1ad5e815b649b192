import { createHash } from 'node:crypto';
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive, run } from './process.ts';

/** The Go modules that pin what is built; their go.mod files are the single source of the versions. */
const MODULES_DIR = import.meta.dirname;
const KUBERNETES_MODULE = join(MODULES_DIR, 'kubernetes');
const ETCD_MODULE = join(MODULES_DIR, 'etcd');
const KUBERNETES_COMMANDS = ['kube-apiserver', 'kube-controller-manager', 'kubectl'] as const;

export interface ControlPlaneBinaries {
  kubernetesVersion: string;
  etcdVersion: string;
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubectl: string;
}

type Log = (message: string) => void;

async function requiredVersion(moduleDir: string, module: string): Promise<string> {
  const goMod = await readFile(join(moduleDir, 'go.mod'), 'utf8');
  const version = new RegExp(`^\\s*(?:require\\s+)?${module.replaceAll('.', '\\.')}\\s+(v\\S+)`, 'm').exec(
    goMod,
  )?.[1];
  if (!version) throw new Error(`${moduleDir}/go.mod does not require ${module}`);
  return version;
}

async function goVersion(): Promise<string> {
  try {
    return (await run('go', ['env', 'GOVERSION'])).trim();
  } catch (error) {
    throw new Error(
      'Go is needed to build the local Kubernetes control plane (kube-apiserver, etcd): install Go 1.26 or newer ' +
        '(for example `apt-get install golang-go`, or from the Go downloads) and make sure `go` is on PATH.',
      { cause: error },
    );
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export function cacheRoot(): string {
  return (
    process.env.TRUSTLINE_CACHE_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'trustline')
  );
}

/** A lock directory: created atomically, holding the owner's pid so a crashed owner's lock can be taken over. */
async function withLock<T>(lockDir: string, log: Log, body: () => Promise<T>): Promise<T> {
  let waitingSince: number | undefined;
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(await readFile(join(lockDir, 'pid'), 'utf8').catch(() => ''));
      if (owner > 0 && !isAlive(owner)) {
        await rm(lockDir, { recursive: true, force: true });
        continue;
      }
      if (waitingSince === undefined) {
        waitingSince = Date.now();
        log(`another process (pid ${owner || 'unknown'}) is building the control plane; waiting for it`);
      }
      await sleep(2_000);
    }
  }
  try {
    return await body();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

/** `output` is a folder (ending in /) for several commands, or a file for one. */
async function goBuild(moduleDir: string, packages: string[], output: string, ldflags: string, log: Log) {
  const started = Date.now();
  let compiled = 0;
  const seconds = () => Math.round((Date.now() - started) / 1000);
  const progress = setInterval(() => log(`  ${compiled} packages compiled (${seconds()}s)`), 15_000);
  try {
    await run('go', ['build', '-v', '-mod=readonly', '-ldflags', ldflags, '-o', output, ...packages], {
      cwd: moduleDir,
      env: { ...process.env, GOTOOLCHAIN: 'local' },
      onLine: () => {
        compiled += 1;
      },
    });
  } finally {
    clearInterval(progress);
  }
  log(`  done in ${seconds()}s`);
}

/**
 * Builds kube-apiserver, kube-controller-manager, kubectl and etcd from their Go modules into a cache
 * folder keyed by the pinned versions, once; later calls return the cached binaries at once.
 */
export async function ensureControlPlane(log: Log = (message) => console.error(`[controlplane] ${message}`)) {
  const go = await goVersion();
  const kubernetesVersion = await requiredVersion(KUBERNETES_MODULE, 'k8s.io/kubernetes');
  const etcdVersion = await requiredVersion(ETCD_MODULE, 'go.etcd.io/etcd/server/v3');
  const digest = createHash('sha256');
  for (const dir of [KUBERNETES_MODULE, ETCD_MODULE]) {
    digest.update(await readFile(join(dir, 'go.mod')));
    digest.update(await readFile(join(dir, 'go.sum')));
  }
  const key = `kubernetes-${kubernetesVersion}_etcd-${etcdVersion}_${go}_${digest.digest('hex').slice(0, 12)}`;
  const root = join(cacheRoot(), 'controlplane');
  const binDir = join(root, key, 'bin');
  const binaries: ControlPlaneBinaries = {
    kubernetesVersion,
    etcdVersion,
    etcd: join(binDir, 'etcd'),
    kubeApiserver: join(binDir, 'kube-apiserver'),
    kubeControllerManager: join(binDir, 'kube-controller-manager'),
    kubectl: join(binDir, 'kubectl'),
  };
  if (await exists(binDir)) return binaries;

  await mkdir(root, { recursive: true });
  return withLock(join(root, `${key}.lock`), log, async () => {
    if (await exists(binDir)) return binaries;
    const staging = join(root, key, `bin.partial-${process.pid}`);
    await rm(staging, { recursive: true, force: true });
    log(
      `building Kubernetes ${kubernetesVersion} and etcd ${etcdVersion} with ${go} (the first build takes many minutes)`,
    );
    const [, major = '', minor = ''] = /^v(\d+)\.(\d+)/.exec(kubernetesVersion) ?? [];
    const versionFlags = ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((pkg) => [
      `-X ${pkg}.gitVersion=${kubernetesVersion}`,
      `-X ${pkg}.gitMajor=${major}`,
      `-X ${pkg}.gitMinor=${minor}`,
      `-X ${pkg}.gitTreeState=clean`,
    ]);
    log(`kubernetes: ${KUBERNETES_COMMANDS.join(', ')}`);
    await goBuild(
      KUBERNETES_MODULE,
      KUBERNETES_COMMANDS.map((command) => `k8s.io/kubernetes/cmd/${command}`),
      `${staging}/`,
      ['-s', '-w', ...versionFlags].join(' '),
      log,
    );
    log('etcd');
    await goBuild(ETCD_MODULE, ['go.etcd.io/etcd/server/v3'], join(staging, 'etcd'), '-s -w', log);
    await rename(staging, binDir);
    log(`binaries in ${binDir}`);
    return binaries;
  });
}
