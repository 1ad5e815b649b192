import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { Agent, fetch, type Response } from 'undici';
import { inject } from 'vitest';
import { OPERATOR_PROCESS_ENV } from '../../src/deploy/workload.ts';
import { RestClient } from '../../src/kube/rest.ts';
import { type CommandResult, runCommand } from '../fixtures/command.ts';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

export type { CommandResult };

/** Runs one of the built tools (kubectl, helm) against the test control plane. */
const runTool = (tool: 'kubectl' | 'helm', args: string[], input?: string): Promise<CommandResult> =>
  runCommand(inject(tool), args, {
    cwd: REPO_ROOT,
    env: { ...process.env, KUBECONFIG: inject('kubeconfig') },
    input,
  });

export const kubectl = (args: string[], input?: string) => runTool('kubectl', args, input);
export const helm = (args: string[]) => runTool('helm', args);

/** Installs the CRDs on the test control plane and returns a client for it: every file's first step. */
export async function connectWithCrds(): Promise<RestClient> {
  const applied = await kubectl(['apply', '-f', 'crds/']);
  if (applied.code !== 0) throw new Error(`kubectl apply -f crds/ failed:\n${applied.stderr}`);
  return restClient();
}

export async function restClient(): Promise<RestClient> {
  const config = new KubeConfig();
  config.loadFromFile(inject('kubeconfig'));
  return RestClient.fromKubeConfig(config);
}

/** The test control plane's admin token: a static token-file user in system:masters. */
export function adminToken(): string {
  const config = new KubeConfig();
  config.loadFromFile(inject('kubeconfig'));
  const token = config.getCurrentUser()?.token;
  if (!token) throw new Error('the test kubeconfig has no token');
  return token;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The operator's metrics certificate is self-signed, made at its start: nothing could verify it. */
const selfSigned = new Agent({ connect: { rejectUnauthorized: false } });

export const uniqueName = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

/** Polls until `probe` returns a value, or fails naming what it waited for. */
export async function waitFor<T>(
  description: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(200);
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${description}`, { cause: lastError });
}

/** The operator as users run it: `node src/main.ts` in a child process, with its JSON log collected. */
export class OperatorProcess {
  readonly child: ChildProcess;
  log = '';

  private constructor(child: ChildProcess) {
    this.child = child;
    const collect = (chunk: Buffer) => {
      this.log += chunk.toString();
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
  }

  /** Starts the operator with `env` added to its environment; metrics and probes go to free loopback ports. */
  static async start(env: Record<string, string> = {}): Promise<OperatorProcess> {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'src', 'main.ts')], {
      env: {
        ...process.env,
        ...OPERATOR_PROCESS_ENV,
        KUBECONFIG: inject('kubeconfig'),
        LOG_LEVEL: 'debug',
        TRUSTLINE_METRICS_ADDRESS: '127.0.0.1:0',
        TRUSTLINE_PROBE_ADDRESS: '127.0.0.1:0',
        // One pod's name for every start, as a restarted container keeps it: the leader Lease is retaken at once.
        POD_NAME: 'trustline-test',
        ...env,
      },
      cwd: REPO_ROOT,
    });
    const operator = new OperatorProcess(child);
    await waitFor('the operator to sync its caches', async () => {
      if (child.exitCode !== null)
        throw new Error(`the operator exited with ${child.exitCode}:\n${operator.log}`);
      return operator.log.includes('caches synced') ? true : undefined;
    });
    return operator;
  }

  /** The log lines, parsed. */
  entries(): Record<string, unknown>[] {
    return this.log
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line));
  }

  #loggedPort(message: string): number {
    const entry = this.entries().find((line) => line.msg === message);
    if (typeof entry?.port !== 'number')
      throw new Error(`the operator logged no "${message}" port:\n${this.log}`);
    return entry.port;
  }

  /** The loopback port the operator serves /metrics on, over HTTPS unless TRUSTLINE_METRICS_SECURE=false. */
  metricsPort(): number {
    return this.#loggedPort('serving metrics');
  }

  /** The loopback port the operator serves /healthz and /readyz on, over plain HTTP. */
  probePort(): number {
    return this.#loggedPort('serving health probes');
  }

  /** GET on the probe port, without credentials, as the kubelet probes. */
  probe(path: string): Promise<Response> {
    return fetch(`http://127.0.0.1:${this.probePort()}${path}`);
  }

  /** GET /metrics over HTTPS with `headers` (the admin's bearer token by default), as Prometheus scrapes. */
  fetchMetrics(headers: Record<string, string> = bearer(adminToken())): Promise<Response> {
    return fetch(`https://127.0.0.1:${this.metricsPort()}/metrics`, { dispatcher: selfSigned, headers });
  }

  /** The metrics text, scraped as the admin, failing on anything but 200. */
  async metrics(): Promise<string> {
    const response = await this.fetchMetrics();
    const body = await response.text();
    if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}: ${body}`);
    return body;
  }

  /** Resolves with the signal or exit code once the process has ended. */
  exited(): Promise<string | number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      return Promise.resolve(this.child.signalCode ?? this.child.exitCode);
    }
    return new Promise((resolve) => this.child.once('exit', (code, signal) => resolve(signal ?? code)));
  }

  /** Kills the operator at once, as a crash or an OOM kill would. */
  async kill(): Promise<void> {
    const exited = this.exited();
    this.child.kill('SIGKILL');
    await exited;
  }

  /** Sends SIGTERM and resolves with the exit code. */
  stop(timeoutMs = 30_000): Promise<number | null> {
    return new Promise((resolve, reject) => {
      if (this.child.exitCode !== null) return resolve(this.child.exitCode);
      const timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(new Error(`the operator did not exit within ${timeoutMs / 1000}s of SIGTERM:\n${this.log}`));
      }, timeoutMs);
      this.child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
      this.child.kill('SIGTERM');
    });
  }
}
