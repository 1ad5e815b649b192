import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { ensureControlPlane } from '../hack/controlplane/build.ts';
import { startControlPlane, stopControlPlane } from '../hack/controlplane/cluster.ts';
import { RestClient } from '../src/kube/rest.ts';
import { measureWatchLatency, reportWatchLatency } from './watch-latency.ts';

/** `npm run bench`: every figure in one run, on a control plane of its own. */
const dir = await mkdtemp(join(tmpdir(), 'trustline-bench-'));
const log = (message: string) => console.error(`[bench] ${message}`);
try {
  const running = await startControlPlane(await ensureControlPlane(log), dir, log);
  const config = new KubeConfig();
  config.loadFromFile(running.kubeconfig);
  const client = await RestClient.fromKubeConfig(config);
  try {
    log('measuring watch event delay (includes a 35 s quiet spell)');
    const lines = reportWatchLatency(await measureWatchLatency(client));
    console.log(['', 'Trustline benchmark', ...lines.map((line) => `  ${line}`)].join('\n'));
  } finally {
    await client.close();
  }
} finally {
  await stopControlPlane(dir);
}
