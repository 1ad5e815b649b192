import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintJwtAuthority, mintX509Authority } from '../../src/core/authorities/mint.ts';
import { emptyJournal } from '../../src/core/authorities/model.ts';
import { buildTrustBundle } from '../../src/core/bundle/trust-bundle.ts';
import { mintJwtSvid, prepareJwtSigner } from '../../src/core/svid/jwt-svid.ts';
import { mintX509Svid, prepareX509Signer } from '../../src/core/svid/x509-svid.ts';
import { type CommandResult, runCommand } from '../fixtures/command.ts';

/** The CLI as people run it: a child process, judged by exit code, stdout and stderr alone. */

const REPO_ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(REPO_ROOT, 'src', 'cli', 'trustline.ts');
const SPIFFE_ID = 'spiffe://example.org/ns/shop/sa/cart';
const dir = mkdtempSync(join(tmpdir(), 'trustline-cli-'));
const file = (name: string) => join(dir, name);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** No kubeconfig anywhere unless a test passes one: HOME is the empty temp directory. */
function trustline(args: string[]): Promise<CommandResult> {
  const { KUBECONFIG: _kubeconfig, KUBERNETES_SERVICE_HOST: _inCluster, ...env } = process.env;
  return runCommand(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: { ...env, HOME: dir } });
}

beforeAll(async () => {
  const now = new Date();
  const x509 = {
    ...(await mintX509Authority({ trustDomain: 'example.org', keyType: 'EC-P256', now, ttlMs: 86_400_000 })),
    state: 'Active' as const,
  };
  const jwt = {
    ...(await mintJwtAuthority({ algorithm: 'ES256', now, ttlMs: 86_400_000 })),
    state: 'Active' as const,
  };
  const journal = { ...emptyJournal('example.org'), authorities: [x509, jwt] };
  writeFileSync(
    file('bundle.json'),
    buildTrustBundle({ journal, now, refreshHintSeconds: 300 }).files['bundle.spiffe.json'],
  );
  writeFileSync(
    file('svid.pem'),
    (await mintX509Svid(prepareX509Signer(x509), { spiffeId: SPIFFE_ID, ttlMs: 3_600_000, now })).certificate,
  );
  // A CA certificate is no X.509-SVID: several rules fail at once.
  writeFileSync(file('ca.pem'), x509.certificate);
  const token = await mintJwtSvid(prepareJwtSigner(jwt, 'example.org'), {
    spiffeId: SPIFFE_ID,
    audiences: ['shop'],
    ttlMs: 600_000,
    now,
  });
  writeFileSync(file('token.jwt'), `${token.token}\n`);
  writeFileSync(file('not-json.json'), 'hello');
  writeFileSync(file('no-keys.json'), '{"spiffe_sequence": 1}');
  writeFileSync(file('not-pem.pem'), 'hello');
  writeFileSync(
    file('unreachable.kubeconfig'),
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:9' } }],
      users: [{ name: 'u', user: { token: 'x' } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'c',
    }),
  );
}, 60_000);

/** One stderr line naming the problem, and never a stack frame. */
function expectOneErrorLine(result: CommandResult, code: number, line: string | RegExp) {
  expect(result.code).toBe(code);
  expect(result.stderr.endsWith('\n')).toBe(true);
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(result.stderr).not.toContain('    at ');
  expect(result.stderr.trimEnd()).toMatch(line);
  expect(result.stdout).toBe('');
}

const exactly = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

describe.concurrent('trustline with bad input', { timeout: 60_000 }, () => {
  it.each<[string, () => string[], number, () => RegExp]>([
    [
      'an unknown command',
      () => ['inspct'],
      2,
      () => exactly('trustline: unknown command "inspct"; try: inspect bundle, verify svid, status'),
    ],
    ['no command', () => [], 2, () => /^trustline: no command given; try: /],
    [
      'a group without its subcommand',
      () => ['verify'],
      2,
      () => exactly('trustline: "verify" needs a subcommand; try: verify svid'),
    ],
    [
      'a missing bundle file',
      () => ['inspect', 'bundle', file('missing.json')],
      1,
      () => exactly(`trustline: ${file('missing.json')}: no such file`),
    ],
    [
      'a bundle that is not JSON',
      () => ['inspect', 'bundle', file('not-json.json')],
      1,
      () => exactly(`trustline: ${file('not-json.json')}: not a SPIFFE bundle: not JSON`),
    ],
    [
      'a bundle without keys',
      () => ['inspect', 'bundle', file('no-keys.json')],
      1,
      () => exactly(`trustline: ${file('no-keys.json')}: not a SPIFFE bundle: keys is missing`),
    ],
    [
      'a missing <source>',
      () => ['inspect', 'bundle'],
      2,
      () => /^trustline: inspect bundle needs a <source>/,
    ],
    [
      'a malformed ConfigMap source',
      () => ['inspect', 'bundle', 'configmap/only-namespace'],
      2,
      () => /configmap\/<namespace>\/<name>$/,
    ],
    [
      'a missing --bundle',
      () => ['verify', 'svid', '--cert', file('svid.pem')],
      2,
      () => /^trustline: verify svid needs --bundle/,
    ],
    [
      'neither --cert nor --jwt',
      () => ['verify', 'svid', '--bundle', file('bundle.json')],
      2,
      () => /needs --cert or --jwt/,
    ],
    [
      '--jwt without --audience',
      () => ['verify', 'svid', '--bundle', file('bundle.json'), '--jwt', file('token.jwt')],
      2,
      () => /--jwt needs --audience/,
    ],
    [
      '--cert and --jwt together',
      () => [
        'verify',
        'svid',
        '--bundle',
        file('bundle.json'),
        '--cert',
        file('svid.pem'),
        '--jwt',
        file('token.jwt'),
      ],
      2,
      () => /give --cert or --jwt, not both/,
    ],
    [
      'a certificate file that is not PEM',
      () => ['verify', 'svid', '--bundle', file('bundle.json'), '--cert', file('not-pem.pem')],
      1,
      () => exactly(`trustline: ${file('not-pem.pem')}: no PEM CERTIFICATE block`),
    ],
    [
      'a JWT that is neither a file nor a token',
      () => ['verify', 'svid', '--bundle', file('bundle.json'), '--jwt', 'nope', '--audience', 'a'],
      1,
      () => exactly('trustline: nope: no such file, and not a JWT'),
    ],
    [
      'an unknown option',
      () => ['status', '--bogus'],
      2,
      () => exactly("trustline: unknown option '--bogus'; see trustline status --help"),
    ],
    [
      'an unknown output format',
      () => ['status', '--output', 'yaml'],
      2,
      () => exactly('trustline: --output must be text or json, not "yaml"'),
    ],
    ['an unexpected argument', () => ['status', 'extra'], 2, () => /unexpected argument "extra"/],
    [
      'no kubeconfig at all',
      () => ['status'],
      1,
      () => exactly('trustline: no kubeconfig: set KUBECONFIG or pass --kubeconfig <path>'),
    ],
    [
      'a missing kubeconfig file',
      () => ['status', '--kubeconfig', file('missing.kubeconfig')],
      1,
      () => exactly(`trustline: cannot load the kubeconfig: ${file('missing.kubeconfig')}: no such file`),
    ],
    [
      'an unreachable cluster',
      () => ['status', '--kubeconfig', file('unreachable.kubeconfig')],
      1,
      () => /^trustline: cannot reach the cluster at https:\/\/127\.0\.0\.1:9: /,
    ],
  ])('reports %s on one line', async (_what, args, code, line) => {
    expectOneErrorLine(await trustline(args()), code, line());
  });
});

describe.concurrent('trustline with good input', { timeout: 60_000 }, () => {
  it('prints "valid: <SPIFFE ID>" for a valid X.509-SVID', async () => {
    const result = await trustline([
      'verify',
      'svid',
      '--bundle',
      file('bundle.json'),
      '--cert',
      file('svid.pem'),
    ]);
    expect(result).toEqual({ code: 0, stdout: `valid: ${SPIFFE_ID}\n`, stderr: '' });
  });

  it('names each failing rule on stdout and exits 1 for an invalid SVID', async () => {
    const result = await trustline([
      'verify',
      'svid',
      '--bundle',
      file('bundle.json'),
      '--cert',
      file('ca.pem'),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^invalid X\.509-SVID spiffe:\/\/example\.org: 3 rules failed\n/);
    for (const rule of ['spiffe-id', 'leaf-not-ca', 'no-cert-sign'])
      expect(result.stdout).toContain(`  ${rule}: `);
  });

  it('verifies a JWT-SVID from a file or inline, with JSON output', async () => {
    const fromFile = await trustline([
      'verify',
      'svid',
      '--bundle',
      file('bundle.json'),
      '--jwt',
      file('token.jwt'),
      '--audience',
      'shop',
      '-o',
      'json',
    ]);
    expect(fromFile.code).toBe(0);
    expect(JSON.parse(fromFile.stdout)).toEqual({
      valid: true,
      kind: 'jwt-svid',
      spiffeId: SPIFFE_ID,
      bundle: file('bundle.json'),
      failures: [],
    });
    const wrongAudience = await trustline([
      'verify',
      'svid',
      '--bundle',
      file('bundle.json'),
      '--jwt',
      file('token.jwt'),
      '--audience',
      'bank',
      '--output',
      'json',
    ]);
    expect(wrongAudience.code).toBe(1);
    expect(JSON.parse(wrongAudience.stdout).failures.map((f: { rule: string }) => f.rule)).toEqual([
      'audience',
    ]);
  });

  it('inspects a bundle file as text and as JSON', async () => {
    const text = await trustline(['inspect', 'bundle', file('bundle.json')]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Trust domain:  example.org');
    expect(text.stdout).toContain('valid, expires in 23h');
    const json = await trustline(['inspect', 'bundle', file('bundle.json'), '--output', 'json']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      sequence: 1,
      refreshHintSeconds: 300,
      trustDomain: 'example.org',
    });
  });

  it.each([['inspect', 'bundle'], ['verify', 'svid'], ['status']])(
    'prints help for %s %s',
    async (...words) => {
      const result = await trustline([...words.filter((word) => word !== undefined), '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Usage: trustline ${words.join(' ')}`);
    },
  );
});
