import { spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch } from 'undici';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { runCommand } from '../fixtures/command.ts';
import { adminToken, kubectl, REPO_ROOT, waitFor } from './support.ts';

/**
 * No container engine runs on these machines, so this test does what the Dockerfile does, step by
 * step, in empty folders: compile, install production dependencies only, copy the same files, and
 * start `node dist/main.js` against the control plane until /readyz answers on the probe port and
 * /metrics over HTTPS to a bearer token.
 */

const exec = (command: string, args: string[], cwd: string) =>
  runCommand(command, args, { cwd, env: process.env });

describe('the container image, built as the Dockerfile builds it', () => {
  const stops: (() => void)[] = [];
  afterAll(() => {
    for (const stop of stops) stop();
  });

  it('holds only production dependencies and dist/, and serves /readyz once started', {
    timeout: 300_000,
  }, async () => {
    const dockerfile = await readFile(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    // The steps below mirror these lines; if the Dockerfile changes, this test must follow.
    expect(dockerfile).toContain('RUN npm ci --omit=dev');
    expect(dockerfile).toContain('RUN npm run build');
    expect(dockerfile).toMatch(/^USER 1000:1000$/m);
    expect(dockerfile).toContain('ENTRYPOINT ["node", "dist/main.js"]');

    const build = await mkdtemp(join(tmpdir(), 'trustline-image-build-'));
    const compiled = await exec(
      process.execPath,
      [
        join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
        '-p',
        join(REPO_ROOT, 'tsconfig.build.json'),
        '--outDir',
        join(build, 'dist'),
      ],
      REPO_ROOT,
    );
    expect(compiled.code, compiled.stdout + compiled.stderr).toBe(0);

    const app = await mkdtemp(join(tmpdir(), 'trustline-image-app-'));
    for (const file of ['package.json', 'package-lock.json', '.npmrc'])
      await cp(join(REPO_ROOT, file), join(app, file));
    const installed = await exec('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], app);
    expect(installed.code, installed.stderr).toBe(0);
    await cp(join(build, 'dist'), join(app, 'dist'), { recursive: true });

    const modules = await readdir(join(app, 'node_modules'));
    expect(modules).toEqual(expect.arrayContaining(['@kubernetes', 'jose', 'pino', 'prom-client', 'zod']));
    for (const devOnly of ['typescript', 'vitest', '@biomejs', 'node'])
      expect(modules).not.toContain(devOnly);

    // The CRDs, so that the file passes alone as well as after the others.
    const crds = await kubectl(['apply', '-f', 'crds/']);
    expect(crds.code, crds.stderr).toBe(0);
    const operatorNamespace = `image-${process.pid}`;
    expect((await kubectl(['create', 'namespace', operatorNamespace])).code).toBe(0);
    const child = spawn(process.execPath, ['dist/main.js'], {
      cwd: app,
      env: {
        PATH: process.env.PATH,
        KUBECONFIG: inject('kubeconfig'),
        NODE_ENV: 'production',
        TRUSTLINE_NAMESPACE: operatorNamespace,
        TRUSTLINE_METRICS_ADDRESS: '127.0.0.1:0',
        TRUSTLINE_PROBE_ADDRESS: '127.0.0.1:0',
        POD_NAME: 'trustline-image',
      },
    });
    stops.push(() => child.kill('SIGKILL'));
    let log = '';
    child.stdout.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    const listening = z.object({ msg: z.string(), port: z.number() });
    const loggedPort = (message: string) =>
      log
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => listening.safeParse(JSON.parse(line)).data)
        .find((line) => line?.msg === message)?.port;
    const probePort = await waitFor('the operator to serve its probes', async () => {
      if (child.exitCode !== null) throw new Error(`dist/main.js exited with ${child.exitCode}:\n${log}`);
      return loggedPort('serving health probes');
    });
    await waitFor('/readyz to answer 200', async () => {
      if (child.exitCode !== null) throw new Error(`dist/main.js exited with ${child.exitCode}:\n${log}`);
      return (await fetch(`http://127.0.0.1:${probePort}/readyz`)).status === 200 ? true : undefined;
    }).catch((error: unknown) => {
      throw new Error(`${error}\n${log}`);
    });
    expect((await fetch(`http://127.0.0.1:${probePort}/healthz`)).status).toBe(200);
    const metricsPort = loggedPort('serving metrics');
    const scraped = await fetch(`https://127.0.0.1:${metricsPort}/metrics`, {
      dispatcher: new Agent({ connect: { rejectUnauthorized: false } }),
      headers: { authorization: `Bearer ${adminToken()}` },
    });
    expect(await scraped.text()).toMatch(/^process_cpu_seconds_total /m);

    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
