import { spawnSync } from 'node:child_process';

/**
 * Runs openssl, the independent judge of the certificates Trustline makes, for unit and integration
 * tests alike. A machine without it fails the test with what to install.
 */
export function runOpenssl(args: string[]): { ok: boolean; output: string } {
  const result = spawnSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.error && 'code' in result.error && result.error.code === 'ENOENT') {
    throw new Error(
      'these tests run openssl to verify certificates: install openssl 3 (Debian: apt-get install openssl)',
    );
  }
  if (result.error) throw result.error;
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

/** Runs openssl and returns its output, or throws with it when openssl fails. */
export function openssl(args: string[]): string {
  const { ok, output } = runOpenssl(args);
  if (!ok) throw new Error(`openssl ${args.join(' ')} failed: ${output}`);
  return output;
}
