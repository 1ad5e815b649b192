import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlive } from '../../hack/controlplane/process.ts';
import { REPO_ROOT, waitFor } from './support.ts';

/**
 * `npm run demo` end to end, as a newcomer runs it: its own control plane and operator, the samples,
 * a revocation, and nothing left behind. The demo's output is what is checked, since that is what it is for.
 */

interface DemoRun {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startDemo(args: string[] = []): DemoRun {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'hack', 'demo.ts'), ...args], { cwd: REPO_ROOT });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** The text under the numbered heading that starts with `title` ("4. The X.509-SVID …"). */
function section(output: string, title: string): string {
  const parts = output.split(/^\d+\. /m);
  const text = parts.find((part) => part.startsWith(title));
  if (text === undefined) throw new Error(`the output has no section "${title}":\n${output}`);
  return text;
}

/** Every value of a `label  value` row of the demo's tables. */
const rows = (text: string, label: string): string[] =>
  [...text.matchAll(new RegExp(`^\\s+${label}\\s{2,}(\\S+)`, 'gm'))].map((match) => match[1] ?? '');

const one = (text: string, pattern: RegExp, what: string): string => {
  const value = pattern.exec(text)?.[1];
  if (value === undefined) throw new Error(`the output shows no ${what}:\n${text}`);
  return value;
};

/** What the demo started, as it reports it: checked to be gone once it has ended. */
function startedResources(output: string) {
  return {
    folder: one(output, /^Temp folder: (\S+)/m, 'temp folder'),
    apiserverPort: Number(one(output, /apiserver: https:\/\/127\.0\.0\.1:(\d+)/, 'apiserver address')),
    operatorPid: Number(one(output, /Trustline is running \(pid (\d+)\)/, 'operator pid')),
  };
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function expectNothingLeft(output: string) {
  const { folder, apiserverPort, operatorPid } = startedResources(output);
  expect(existsSync(folder), `${folder} is removed`).toBe(false);
  expect(await answers(apiserverPort), `the apiserver on port ${apiserverPort} is stopped`).toBe(false);
  expect(isAlive(operatorPid), `the operator (pid ${operatorPid}) is stopped`).toBe(false);
}

describe('npm run demo', () => {
  it('walks through an SVID, the bundle and a revocation, then removes everything it started', async () => {
    const demo = startDemo();
    const code = await demo.exited;
    const output = demo.output();
    expect(code, output).toBe(0);

    const before = section(output, 'The X.509-SVID in Secret');
    const [spiffeId] = rows(before, 'SPIFFE ID');
    expect(spiffeId).toMatch(/^spiffe:\/\/example\.org\/\S+$/);
    const [serialBefore] = rows(before, 'serial');
    expect(serialBefore).toMatch(/^[0-9a-f]+$/);

    const bundleBefore = rows(section(output, 'The trust bundle in ConfigMap'), 'serial');
    const revocation = section(output, 'Revoking the active X.509 authority');
    const revokedSerial = one(revocation, /\(serial ([0-9a-f]+)\)/, 'revoked authority serial');
    expect(bundleBefore).toContain(revokedSerial);
    expect(revocation).toMatch(/phase Revoked/);
    const bundleAfter = rows(section(output, 'The trust bundle after the revocation'), 'serial');
    expect(bundleAfter.length).toBeGreaterThan(0);
    expect(bundleAfter).not.toContain(revokedSerial);

    const after = section(output, 'The re-issued X.509-SVID');
    expect(rows(after, 'SPIFFE ID')).toEqual([spiffeId]);
    const [serialAfter] = rows(after, 'serial');
    expect(serialAfter).toMatch(/^[0-9a-f]+$/);
    expect(serialAfter).not.toBe(serialBefore);
    expect(after).toContain('It verifies against the new bundle');
    // The demo fails unless the CLI refuses the SVID signed by the revoked authority; this checks it ran.
    expect(section(output, 'The trustline CLI after the revocation')).toContain(
      '(exit code 1, as it should be)',
    );

    await expectNothingLeft(output);
  }, 900_000);

  it('cleans up when interrupted halfway, and exits with 130', async () => {
    const demo = startDemo();
    await waitFor(
      'the demo to start Trustline',
      async () => {
        if (demo.child.exitCode !== null) throw new Error(`the demo exited early:\n${demo.output()}`);
        return /Trustline is running/.test(demo.output()) ? true : undefined;
      },
      900_000,
    );
    demo.child.kill('SIGINT');
    expect(await demo.exited, demo.output()).toBe(130);
    expect(demo.output()).toContain('SIGINT: interrupted');
    await expectNothingLeft(demo.output());
  }, 900_000);

  it('with --keep, keeps the cluster running until Ctrl-C, then removes everything', async () => {
    const demo = startDemo(['--keep']);
    await waitFor(
      'the demo to wait for Ctrl-C',
      async () => {
        if (demo.child.exitCode !== null) throw new Error(`the demo exited early:\n${demo.output()}`);
        return demo.output().includes('Press Ctrl-C') ? true : undefined;
      },
      900_000,
    );
    const output = demo.output();
    const { folder, apiserverPort } = startedResources(output);
    expect(output).toMatch(new RegExp(`export KUBECONFIG=${folder}/\\S+`));
    expect(existsSync(folder)).toBe(true);
    expect(await answers(apiserverPort)).toBe(true);

    demo.child.kill('SIGINT');
    expect(await demo.exited, demo.output()).toBe(0);
    await expectNothingLeft(demo.output());
  }, 900_000);
});
