import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { ensureControlPlane } from '../hack/controlplane/build.ts';
import { startControlPlane, stopControlPlane } from '../hack/controlplane/cluster.ts';
import { run } from '../hack/controlplane/process.ts';
import { RestClient } from '../src/kube/rest.ts';
import { measureEntries, reportEntries } from './entries.ts';
import { benchMinting, reportMinting } from './minting.ts';
import { measurePodCertificates, reportPodCertificates } from './pod-certificates.ts';
import { measureWatchLatency, reportWatchLatency } from './watch-latency.ts';

/** `npm run bench`: every figure in one run, on a control plane of its own. */
const dir = await mkdtemp(join(tmpdir(), 'trustline-bench-'));
const log = (message: string) => console.error(`[bench] ${message}`);
try {
  const binaries = await ensureControlPlane(log);
  const running = await startControlPlane(binaries, dir, log);
  const config = new KubeConfig();
  config.loadFromFile(running.kubeconfig);
  const client = await RestClient.fromKubeConfig(config);
  try {
    log('measuring X.509-SVID minting, hand-built DER and @peculiar/x509 side by side');
    const minting = reportMinting(await benchMinting());
    await run(binaries.kubectl, ['apply', '-f', join(import.meta.dirname, '..', 'crds')], {
      env: { ...process.env, KUBECONFIG: running.kubeconfig },
      onLine: log,
    });
    const entries = reportEntries(await measureEntries(client, running.kubeconfig, log));
    log('measuring PodCertificateRequest creation → Issued, made as a node');
    const podCertificates = reportPodCertificates(
      await measurePodCertificates(client, running.kubeconfig, log),
    );
    log('measuring watch event delay (includes a 35 s quiet spell)');
    const lines = [
      ...minting,
      ...entries,
      ...podCertificates,
      ...reportWatchLatency(await measureWatchLatency(client)),
    ];
    console.log(['', 'Trustline benchmark', ...lines.map((line) => `  ${line}`)].join('\n'));
  } finally {
    await client.close();
  }
} finally {
  await stopControlPlane(dir);
}
