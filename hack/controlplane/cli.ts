import { join } from 'node:path';
import { ensureControlPlane } from './build.ts';
import { startControlPlane, stopControlPlane } from './cluster.ts';

/** `npm run cluster:{build,up,down}`: the development control plane lives in .cluster/ of the repository. */
const CLUSTER_DIR = join(import.meta.dirname, '..', '..', '.cluster');
const log = (message: string) => console.error(`[controlplane] ${message}`);

const command = process.argv[2];
try {
  if (command === 'build') {
    const binaries = await ensureControlPlane(log);
    console.log(JSON.stringify(binaries, null, 2));
  } else if (command === 'up') {
    const running = await startControlPlane(await ensureControlPlane(log), CLUSTER_DIR, log);
    console.log(`control plane is up: export KUBECONFIG=${running.kubeconfig}`);
  } else if (command === 'down') {
    await stopControlPlane(CLUSTER_DIR);
    console.log('control plane stopped and its data removed');
  } else {
    console.error('usage: node hack/controlplane/cli.ts build|up|down');
    process.exitCode = 2;
  }
} catch (error) {
  console.error(`[controlplane] ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
