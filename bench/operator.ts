import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { freePort, type RunningControlPlane } from '../hack/controlplane/cluster.ts';
import { trustDomainKind } from '../src/api/trustdomain.ts';
import { OPERATOR_PROCESS_ENV } from '../src/deploy/workload.ts';
import { collectionPath, coreResources, trustlineResource } from '../src/kube/resources.ts';
import { RestClient } from '../src/kube/rest.ts';
import { type EventLoopDelay, parseEventLoopDelay } from '../test/fixtures/event-loop-delay.ts';
import { scrapeMetrics } from './event-loop.ts';
import { installOperatorIdentity } from './operator-identity.ts';

const REPO = join(import.meta.dirname, '..');

/** The operator process ended while a phase still needed it: most often the leader lost its Lease. */
export class OperatorExited extends Error {}

/** The messages of the last error and fatal lines of a pino log. */
function lastErrors(logFile: string, count = 3): string[] {
  const text = (() => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  })();
  return text
    .split('\n')
    .flatMap((line) => {
      try {
        const entry: unknown = JSON.parse(line);
        if (typeof entry !== 'object' || entry === null || !('level' in entry) || !('msg' in entry))
          return [];
        return typeof entry.level === 'number' && entry.level >= 50 ? [String(entry.msg)] : [];
      } catch {
        return [];
      }
    })
    .slice(-count);
}

/**
 * The operator as a child process, run as the chart runs it: on its own ServiceAccount's token and RBAC,
 * with the chart's FlowSchema, and with leader election on at its default timings (the chart sets none).
 * Its log goes to `logFile`; `env` adds to its environment.
 */
export class BenchOperator {
  readonly child: ChildProcess;
  readonly logFile: string;
  readonly #metricsUrl: string;
  readonly #scrapeToken: string;

  private constructor(child: ChildProcess, logFile: string, metricsUrl: string, scrapeToken: string) {
    this.child = child;
    this.logFile = logFile;
    this.#metricsUrl = metricsUrl;
    this.#scrapeToken = scrapeToken;
  }

  static async start(options: {
    admin: RestClient;
    controlPlane: RunningControlPlane;
    namespace: string;
    logFile: string;
    env?: Record<string, string>;
  }): Promise<BenchOperator> {
    const kubeconfig = options.logFile.replace(/\.log$/, '.kubeconfig');
    await installOperatorIdentity(options.admin, options.controlPlane, options.namespace, kubeconfig);
    await untilAuthorised(kubeconfig);
    const port = await freePort();
    const child = spawn(process.execPath, [join(REPO, 'src', 'main.ts')], {
      env: {
        ...process.env,
        ...OPERATOR_PROCESS_ENV,
        KUBECONFIG: kubeconfig,
        TRUSTLINE_NAMESPACE: options.namespace,
        TRUSTLINE_METRICS_ADDRESS: `127.0.0.1:${port}`,
        TRUSTLINE_PROBE_ADDRESS: '127.0.0.1:0',
        LOG_LEVEL: 'warn',
        POD_NAME: 'trustline-bench',
        ...options.env,
      },
      stdio: ['ignore', openSync(options.logFile, 'a'), 'inherit'],
    });
    // The admin token: metrics may be served to authorised scrapers only.
    return new BenchOperator(
      child,
      options.logFile,
      `https://127.0.0.1:${port}/metrics`,
      options.controlPlane.token,
    );
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Throws OperatorExited, with what the operator last logged, once the process has ended. */
  assertRunning(): void {
    if (!this.exited) return;
    const logged = lastErrors(this.logFile);
    throw new OperatorExited(
      `the operator exited (${this.child.signalCode ?? this.child.exitCode}); it last logged: ${
        logged.length > 0 ? logged.map((message) => `"${message}"`).join(', ') : 'no error'
      } (${this.logFile})`,
    );
  }

  async metrics(): Promise<string> {
    this.assertRunning();
    try {
      return await scrapeMetrics(this.#metricsUrl, this.#scrapeToken);
    } catch (error) {
      // A scrape that fails as the process ends is the exit, not a metrics fault.
      await Promise.race([once(this.child, 'exit'), sleep(2_000)]);
      this.assertRunning();
      throw error;
    }
  }

  /** The event-loop delay since the previous scrape (each scrape resets the histogram). */
  async eventLoopDelay(): Promise<EventLoopDelay> {
    return parseEventLoopDelay(await this.metrics());
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * A run's two namespaces, labelled `bench: <run>` (`<run>-system` for the operator, `<run>-apps` for
 * the workloads), and an operator started in the first with its log in /tmp.
 */
export async function startRun(
  admin: RestClient,
  controlPlane: RunningControlPlane,
  run: string,
  log: (message: string) => void,
  env: Record<string, string> = {},
): Promise<{ operator: BenchOperator; operatorNamespace: string; namespace: string }> {
  const operatorNamespace = `${run}-system`;
  const namespace = `${run}-apps`;
  for (const name of [operatorNamespace, namespace]) {
    await admin.request('POST', collectionPath(coreResources.namespaces), {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { bench: run } } },
    });
  }
  const logFile = join('/tmp', `${run}-operator.log`);
  log(`operator log: ${logFile}`);
  const operator = await BenchOperator.start({
    admin,
    controlPlane,
    namespace: operatorNamespace,
    logFile,
    env,
  });
  return { operator, operatorNamespace, namespace };
}

/** RBAC bindings reach the authorizer's cache a moment after they are created. */
async function untilAuthorised(kubeconfig: string): Promise<void> {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig);
  const client = await RestClient.fromKubeConfig(config);
  try {
    await until('the operator ServiceAccount to be authorised', async () =>
      client.request('GET', collectionPath(trustlineResource(trustDomainKind))).then(
        () => true,
        () => false,
      ),
    );
  } finally {
    await client.close();
  }
}

/** Polls `probe` every 100 ms until it holds. */
export async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
