import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { ensureControlPlane } from '../hack/controlplane/build.ts';
import { startControlPlane, stopControlPlane } from '../hack/controlplane/cluster.ts';
import { run } from '../hack/controlplane/process.ts';
import { RestClient } from '../src/kube/rest.ts';
import { parseBenchArgs } from './args.ts';
import { measureChurn, reportChurn } from './churn.ts';
import { measureEntries, reportEntries } from './entries.ts';
import { benchMinting, reportMinting } from './minting.ts';
import { measurePodCertificates, reportPodCertificates } from './pod-certificates.ts';
import { measureScale, reportScale } from './scale.ts';
import { measureWatchLatency, reportWatchLatency } from './watch-latency.ts';

/**
 * `npm run bench`: every figure in one run, on a control plane of its own. Each operator runs as the
 * chart runs it (its ServiceAccount, RBAC and FlowSchema; leader election on). A phase that fails is
 * reported as such and the others still run; the exit code is then 1. `--entries N` runs the large
 * run alone: N entries over 100 namespaces, every figure of the scale goals.
 */
const mode = parseBenchArgs(process.argv.slice(2));
const dir = await mkdtemp(join(tmpdir(), 'trustline-bench-'));
const log = (message: string) => console.error(`[bench] ${message}`);
let failed = false;
const phase = async (name: string, measure: () => Promise<string[]>): Promise<string[]> => {
  try {
    const lines = await measure();
    if (lines.some((line) => line.startsWith('ABORTED'))) failed = true;
    return lines;
  } catch (error) {
    failed = true;
    const message = error instanceof Error ? error.message : String(error);
    log(`${name} failed: ${message}`);
    return [`FAILED ${name}: ${message}`];
  }
};
try {
  const binaries = await ensureControlPlane(log);
  const running = await startControlPlane(binaries, dir, log);
  const config = new KubeConfig();
  config.loadFromFile(running.kubeconfig);
  const client = await RestClient.fromKubeConfig(config);
  const measureAll = async (): Promise<string[]> => {
    log('measuring X.509-SVID minting, hand-built DER and @peculiar/x509 side by side');
    const minting = reportMinting(await benchMinting());
    const entries = await phase('the RegistrationEntry phases', async () =>
      reportEntries(await measureEntries(client, running, log)),
    );
    log('measuring RSA-4096 churn with 10-second TTLs');
    const churn = await phase('the RSA-4096 churn', async () =>
      reportChurn(await measureChurn(client, running, log)),
    );
    log('measuring PodCertificateRequest creation → Issued, made as a node');
    const podCertificates = await phase('the PodCertificateRequest phases', async () =>
      reportPodCertificates(await measurePodCertificates(client, running, log)),
    );
    log('measuring watch event delay (includes a 35 s quiet spell)');
    const watch = await phase('the watch delay', async () =>
      reportWatchLatency(await measureWatchLatency(client)),
    );
    return [...minting, ...entries, ...churn, ...podCertificates, ...watch];
  };
  try {
    await run(binaries.kubectl, ['apply', '-f', join(import.meta.dirname, '..', 'crds')], {
      env: { ...process.env, KUBECONFIG: running.kubeconfig },
      onLine: log,
    });
    const lines =
      mode.kind === 'large'
        ? await phase(`the ${mode.entries}-entry run`, async () =>
            reportScale(await measureScale(client, running, mode.entries, log)),
          )
        : await measureAll();
    console.log(
      ['', `Trustline benchmark, ${new Date().toISOString()}`, ...lines.map((line) => `  ${line}`)].join(
        '\n',
      ),
    );
  } finally {
    await client.close();
  }
} finally {
  await stopControlPlane(dir);
}
if (failed) process.exitCode = 1;
