import { type ChildProcess, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const REPO = join(import.meta.dirname, '..');

/** The operator as a child process, its log appended to `logFile`; `env` adds to its environment. */
export function startOperator(
  kubeconfig: string,
  namespace: string,
  logFile: string,
  env: Record<string, string> = {},
): ChildProcess {
  return spawn(process.execPath, [join(REPO, 'src', 'main.ts')], {
    env: {
      ...process.env,
      KUBECONFIG: kubeconfig,
      TRUSTLINE_NAMESPACE: namespace,
      TRUSTLINE_METRICS_ADDRESS: '127.0.0.1:0',
      TRUSTLINE_PROBE_ADDRESS: '127.0.0.1:0',
      LOG_LEVEL: 'warn',
      POD_NAME: 'trustline-bench',
      ...env,
    },
    stdio: ['ignore', openSync(logFile, 'a'), 'inherit'],
  });
}

/** Polls `probe` every 100 ms until it holds. */
export async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
