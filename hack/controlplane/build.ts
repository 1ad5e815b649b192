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
const HELM_MODULE = join(MODULES_DIR, 'helm');
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
      'Go is needed to build the local Kubernetes control plane (kube-apiserver, etcd) and helm: ' +
        'install Go 1.26 or newer (for example `apt-get install golang-go`, or from the Go downloads) ' +
        'and make sure `go` is on PATH.',
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
async function withLock<T>(lockDir: string, what: string, log: Log, body: () => Promise<T>): Promise<T> {
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
        log(`another process (pid ${owner || 'unknown'}) is building ${what}; waiting for it`);
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

/** One `go build` of packages from one of the pinned modules. */
interface GoBuild {
  /** Names the build in the cache key and the log. */
  name: string;
  version: string;
  moduleDir: string;
  packages: string[];
  /** The file name for a single package whose default one is wrong (etcd's would be `v3`). */
  binary?: string;
  ldflags: string[];
}

/**
 * Runs `builds` into `<cache root>/<area>/<key>/bin` once and returns that folder; later calls return it
 * at once. The key holds the versions, the Go version and a digest of the modules' go.mod and go.sum, so a
 * change to any of them builds a fresh folder instead of reusing a stale one. The lock keeps concurrent
 * callers (a test run and `npm run cluster:build`) from building the same thing twice, and building into a
 * staging folder renamed into place means a folder that exists is complete.
 */
async function ensureBuilt(area: string, builds: GoBuild[], log: Log): Promise<string> {
  const go = await goVersion();
  const digest = createHash('sha256');
  for (const dir of new Set(builds.map((build) => build.moduleDir))) {
    digest.update(await readFile(join(dir, 'go.mod')));
    digest.update(await readFile(join(dir, 'go.sum')));
  }
  const key = [
    ...builds.map(({ name, version }) => `${name}-${version}`),
    go,
    digest.digest('hex').slice(0, 12),
  ].join('_');
  const root = join(cacheRoot(), area);
  const binDir = join(root, key, 'bin');
  if (await exists(binDir)) return binDir;

  const what = builds.map(({ name, version }) => `${name} ${version}`).join(' and ');
  await mkdir(root, { recursive: true });
  return withLock(join(root, `${key}.lock`), what, log, async () => {
    if (await exists(binDir)) return binDir;
    const staging = join(root, key, `bin.partial-${process.pid}`);
    await rm(staging, { recursive: true, force: true });
    log(`building ${what} with ${go} (the first build takes minutes)`);
    for (const build of builds) {
      log(`${build.name}: ${build.packages.join(', ')}`);
      await goBuild(
        build.moduleDir,
        build.packages,
        build.binary ? join(staging, build.binary) : `${staging}/`,
        ['-s', '-w', ...build.ldflags].join(' '),
        log,
      );
    }
    await rename(staging, binDir);
    log(`binaries in ${binDir}`);
    return binDir;
  });
}

/**
 * Builds kube-apiserver, kube-controller-manager, kubectl and etcd from their Go modules into a cache
 * folder keyed by the pinned versions, once; later calls return the cached binaries at once.
 */
export async function ensureControlPlane(
  log: Log = (message) => console.error(`[controlplane] ${message}`),
): Promise<ControlPlaneBinaries> {
  const kubernetesVersion = await requiredVersion(KUBERNETES_MODULE, 'k8s.io/kubernetes');
  const etcdVersion = await requiredVersion(ETCD_MODULE, 'go.etcd.io/etcd/server/v3');
  // Built from the module, Kubernetes would otherwise report v0.0.0, and the API server's /version is what
  // clients (helm's kubeVersion checks among them) compare against.
  const [, major = '', minor = ''] = /^v(\d+)\.(\d+)/.exec(kubernetesVersion) ?? [];
  const versionFlags = ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((pkg) => [
    `-X ${pkg}.gitVersion=${kubernetesVersion}`,
    `-X ${pkg}.gitMajor=${major}`,
    `-X ${pkg}.gitMinor=${minor}`,
    `-X ${pkg}.gitTreeState=clean`,
  ]);
  const binDir = await ensureBuilt(
    'controlplane',
    [
      {
        name: 'kubernetes',
        version: kubernetesVersion,
        moduleDir: KUBERNETES_MODULE,
        packages: KUBERNETES_COMMANDS.map((command) => `k8s.io/kubernetes/cmd/${command}`),
        ldflags: versionFlags,
      },
      {
        name: 'etcd',
        version: etcdVersion,
        moduleDir: ETCD_MODULE,
        packages: ['go.etcd.io/etcd/server/v3'],
        binary: 'etcd',
        ldflags: [],
      },
    ],
    log,
  );
  return {
    kubernetesVersion,
    etcdVersion,
    etcd: join(binDir, 'etcd'),
    kubeApiserver: join(binDir, 'kube-apiserver'),
    kubeControllerManager: join(binDir, 'kube-controller-manager'),
    kubectl: join(binDir, 'kubectl'),
  };
}

/** Builds helm from its Go module into the same cache, once; returns the binary's path. */
export async function ensureHelm(
  log: Log = (message) => console.error(`[helm] ${message}`),
): Promise<string> {
  const version = await requiredVersion(HELM_MODULE, 'helm.sh/helm/v4');
  // What helm's own Makefile sets for a tagged release: without it `helm version` says v4.3 (the source
  // default) and the user agent loses the patch version. The module zip carries no git commit, so gitCommit
  // stays empty.
  const versionFlags = [
    `-X helm.sh/helm/v4/internal/version.version=${version}`,
    '-X helm.sh/helm/v4/internal/version.gitTreeState=clean',
  ];
  const binDir = await ensureBuilt(
    'helm',
    [
      {
        name: 'helm',
        version,
        moduleDir: HELM_MODULE,
        packages: ['helm.sh/helm/v4/cmd/helm'],
        ldflags: versionFlags,
      },
    ],
    log,
  );
  return join(binDir, 'helm');
}
