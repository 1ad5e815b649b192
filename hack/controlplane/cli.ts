import { spawn } from 'node:child_process';
import { rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { OPERATOR_PROCESS_ENV } from '../../src/deploy/workload.ts';
import { type ControlPlaneBinaries, ensureControlPlane, ensureHelm } from './build.ts';
import { runningControlPlane, startControlPlane, stopControlPlane } from './cluster.ts';
import { run } from './process.ts';

/**
 * `npm run cluster:{build,up,down}` and `npm run dev`: the development control plane lives in .cluster/
 * of the repository. `helm` builds helm if needed and prints only its path, for scripts:
 * `"$(node hack/controlplane/cli.ts helm)" lint charts/trustline`.
 */
const CLUSTER_DIR = join(import.meta.dirname, '..', '..', '.cluster');
const log = (message: string) => console.error(`[controlplane] ${message}`);

/** Reuses the control plane in .cluster/ if it is running, else starts one; links .cluster/kubectl to the build. */
async function up(binaries: ControlPlaneBinaries): Promise<string> {
  const running =
    (await runningControlPlane(CLUSTER_DIR)) ?? (await startControlPlane(binaries, CLUSTER_DIR, log));
  const link = join(CLUSTER_DIR, 'kubectl');
  await rm(link, { force: true });
  await symlink(binaries.kubectl, link);
  return running.kubeconfig;
}

const command = process.argv[2];
try {
  if (command === 'build') {
    const binaries = await ensureControlPlane(log);
    const helm = await ensureHelm(log);
    console.log(JSON.stringify({ ...binaries, helm }, null, 2));
  } else if (command === 'helm') {
    console.log(await ensureHelm(log));
  } else if (command === 'up') {
    const kubeconfig = await up(await ensureControlPlane(log));
    console.log(`control plane is up: export KUBECONFIG=${kubeconfig}; kubectl is .cluster/kubectl`);
  } else if (command === 'dev') {
    const binaries = await ensureControlPlane(log);
    const kubeconfig = await up(binaries);
    const env = { ...process.env, KUBECONFIG: kubeconfig };
    const repository = join(CLUSTER_DIR, '..');
    await run(binaries.kubectl, ['apply', '-f', join(repository, 'crds')], { env, onLine: log });
    // The operator's namespace, where it keeps each trust domain's journal Secret.
    await run(binaries.kubectl, ['apply', '-f', join(repository, 'config', 'default', 'namespace.yaml')], {
      env,
      onLine: log,
    });
    log(
      `running Trustline against ${kubeconfig}; stop it with Ctrl-C, and the control plane with npm run cluster:down`,
    );
    const operator = spawn(process.execPath, [join(repository, 'src', 'main.ts')], {
      env: { ...env, ...OPERATOR_PROCESS_ENV },
      stdio: 'inherit',
    });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => operator.kill(signal));
    operator.on('exit', (code) => {
      process.exitCode = code ?? 1;
    });
  } else if (command === 'down') {
    await stopControlPlane(CLUSTER_DIR);
    console.log('control plane stopped and its data removed');
  } else {
    console.error('usage: node hack/controlplane/cli.ts build|helm|up|dev|down');
    process.exitCode = 2;
  }
} catch (error) {
  console.error(`[controlplane] ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
