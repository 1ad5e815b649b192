import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { objectPath } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import { runCommand } from '../fixtures/command.ts';
import { createKeyRevocation, keyRevocations, waitForRevocation } from './key-revocations.ts';
import { createEntry, entries, readSecret, waitForEntry } from './registration-entries.ts';
import { connectWithCrds, OperatorProcess, REPO_ROOT, uniqueName, waitFor } from './support.ts';
import {
  createNamespace,
  createTrustDomain,
  deleteTrustDomains,
  readConfigMap,
  waitForReady,
} from './trust-domains.ts';

/** The trustline CLI against a real control plane and a running operator, as an operator's user runs it. */

/** Runs the CLI with the test cluster's kubeconfig in KUBECONFIG, unless `env` says otherwise. */
function trustline(
  args: string[],
  env: Record<string, string | undefined> = { KUBECONFIG: inject('kubeconfig') },
) {
  const { KUBECONFIG: _inherited, ...base } = process.env;
  return runCommand(process.execPath, [join(REPO_ROOT, 'src', 'cli', 'trustline.ts'), ...args], {
    cwd: REPO_ROOT,
    env: { ...base, ...env },
  });
}

/** The parts of `status --output json` this test reads; the unit tests pin the rest of the shape. */
const readySchema = z.object({ status: z.string(), reason: z.string() }).nullable();
const deadlineSchema = z.object({ at: z.string(), secondsFromNow: z.number() }).nullable();
const statusSchema = z.object({
  trustDomains: z.array(
    z.object({
      name: z.string(),
      trustDomain: z.string(),
      ready: readySchema,
      activeAuthorityExpires: deadlineSchema,
      bundleSequence: z.number().nullable(),
    }),
  ),
  registrationEntries: z.array(
    z.object({
      namespace: z.string(),
      name: z.string(),
      spiffeId: z.string().nullable(),
      ready: readySchema,
      svidExpires: deadlineSchema,
    }),
  ),
  keyRevocations: z.array(z.object({ name: z.string(), phase: z.string().nullable(), ready: readySchema })),
  invalid: z.array(z.object({ kind: z.string(), name: z.string().nullable(), error: z.string() })),
});
const bundleSchema = z.object({
  source: z.string(),
  trustDomain: z.string().nullable(),
  sequence: z.number().nullable(),
  statesFrom: z.string().nullable(),
  authorities: z.array(
    z.discriminatedUnion('use', [
      z.object({
        use: z.literal('x509-svid'),
        id: z.string(),
        spiffeId: z.string().nullable(),
        state: z.string().nullable(),
        validity: z.object({ status: z.string() }),
      }),
      z.object({
        use: z.literal('jwt-svid'),
        kid: z.string(),
        state: z.string().nullable(),
        notAfter: z.string().nullable(),
      }),
    ]),
  ),
});

describe('trustline CLI on a real control plane', () => {
  const run = uniqueName('cli');
  const operatorNamespace = `${run}-system`;
  const app = `${run}-app`;
  const label = { 'trustline-test': run };
  const name = run;
  const trustDomain = `${run}.example.org`;
  const bundleConfigMap = `${run}-trust-bundle`;
  const revocation = `${run}-orphan`;
  const spiffeId = `spiffe://${trustDomain}/ns/${app}/sa/cart`;
  let client: RestClient;
  let operator: OperatorProcess;
  let dir: string;

  beforeAll(async () => {
    client = await connectWithCrds();
    dir = await mkdtemp(join(tmpdir(), 'trustline-cli-'));
    await createNamespace(client, operatorNamespace);
    await createNamespace(client, app, label);
    operator = await OperatorProcess.start({ TRUSTLINE_NAMESPACE: operatorNamespace });
    await createTrustDomain(client, name, {
      trustDomain,
      bundle: { namespaceSelector: { matchLabels: label } },
    });
    await waitForReady(client, name, 'True');
    await createEntry(client, app, 'cart', {
      trustDomainRef: { name },
      spiffeIDPath: `/ns/${app}/sa/cart`,
      jwtSVIDs: [{ key: 'token', audiences: ['payments'] }],
      secret: { name: 'cart-svid' },
    });
    await waitForEntry(client, app, 'cart', 'True', 'Issued');
    await waitFor('the bundle ConfigMap', () => readConfigMap(client, app, bundleConfigMap));
    // A revocation of a trust domain that does not exist fails at once and touches nothing else.
    await createKeyRevocation(client, revocation, {
      trustDomainRef: { name: `${run}-missing` },
      authority: { kind: 'X509', id: 'ab' },
      reason: 'Superseded',
    });
    await waitForRevocation(client, revocation, 'Failed');
  });

  afterAll(async () => {
    await client.request('DELETE', objectPath(keyRevocations, revocation));
    await client.request('DELETE', objectPath(entries, 'cart', app));
    await deleteTrustDomains(client, [name]);
    await operator.stop();
    await client.close();
  });

  it('status --output json lists the TrustDomain, the entry and the revocation with their Ready conditions', async () => {
    const result = await trustline(['status', '--output', 'json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const status = statusSchema.parse(JSON.parse(result.stdout));
    const domain = status.trustDomains.find((line) => line.name === name);
    expect(domain).toMatchObject({ trustDomain, ready: { status: 'True' } });
    expect(domain?.activeAuthorityExpires?.secondsFromNow).toBeGreaterThan(0);
    expect(domain?.bundleSequence).toBeGreaterThan(0);
    const entry = status.registrationEntries.find((line) => line.namespace === app && line.name === 'cart');
    expect(entry).toMatchObject({ spiffeId, ready: { status: 'True', reason: 'Issued' } });
    expect(entry?.svidExpires?.secondsFromNow).toBeGreaterThan(0);
    expect(status.keyRevocations.find((line) => line.name === revocation)).toMatchObject({
      phase: 'Failed',
      ready: { status: 'False', reason: 'TrustDomainNotFound' },
    });
    expect(status.invalid).toEqual([]);
  });

  it('status reads the cluster named by --kubeconfig when KUBECONFIG is unset, and prints tables', async () => {
    const result = await trustline(['status', '--kubeconfig', inject('kubeconfig')], { HOME: tmpdir() });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`${name} +${trustDomain.replaceAll('.', '\\.')} +True \\(`));
    expect(result.stdout).toContain(`${app}/cart`);
  });

  it('inspect bundle configmap/... shows the published authorities with the states the TrustDomain reports', async () => {
    const result = await trustline([
      'inspect',
      'bundle',
      `configmap/${app}/${bundleConfigMap}`,
      '-o',
      'json',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const bundle = bundleSchema.parse(JSON.parse(result.stdout));
    expect(bundle).toMatchObject({
      source: `configmap/${app}/${bundleConfigMap}`,
      trustDomain,
      statesFrom: `TrustDomain ${name}`,
    });
    const x509 = bundle.authorities.filter((a) => a.use === 'x509-svid');
    const jwt = bundle.authorities.filter((a) => a.use === 'jwt-svid');
    expect(x509.length).toBeGreaterThan(0);
    expect(jwt.length).toBeGreaterThan(0);
    for (const authority of x509) {
      expect(authority.spiffeId).toBe(`spiffe://${trustDomain}`);
      expect(authority.validity.status).toBe('valid');
    }
    expect(x509.map((a) => a.state)).toContain('Active');
    expect(jwt.map((a) => a.state)).toContain('Active');
    for (const authority of jwt) expect(authority.notAfter).not.toBeNull();

    const text = await trustline(['inspect', 'bundle', `configmap/${app}/${bundleConfigMap}`]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/Active +valid, expires in /);
    expect(text.stdout).toContain(`States from:   TrustDomain ${name}`);
  });

  it('verify svid accepts the SVIDs the operator wrote, against the bundle ConfigMap', async () => {
    const secret = await readSecret(client, app, 'cart-svid');
    if (secret === undefined) throw new Error('no SVID Secret');
    await writeFile(join(dir, 'tls.crt'), secret.data['tls.crt'] ?? '');
    await writeFile(join(dir, 'token'), secret.data.token ?? '');
    const bundle = `configmap/${app}/${bundleConfigMap}`;
    const x509 = await trustline(['verify', 'svid', '--bundle', bundle, '--cert', join(dir, 'tls.crt')]);
    expect(x509).toEqual({ code: 0, stdout: `valid: ${spiffeId}\n`, stderr: '' });
    const jwt = await trustline([
      'verify',
      'svid',
      '--bundle',
      bundle,
      '--jwt',
      join(dir, 'token'),
      '--audience',
      'payments',
    ]);
    expect(jwt).toEqual({ code: 0, stdout: `valid: ${spiffeId}\n`, stderr: '' });
    const wrongAudience = await trustline([
      'verify',
      'svid',
      '--bundle',
      bundle,
      '--jwt',
      join(dir, 'token'),
      '--audience',
      'ledger',
    ]);
    expect(wrongAudience.code).toBe(1);
    expect(wrongAudience.stdout).toContain('  audience: ');
  });

  it('names a missing ConfigMap on one line', async () => {
    const result = await trustline(['inspect', 'bundle', `configmap/${app}/nope`]);
    expect(result).toEqual({ code: 1, stdout: '', stderr: `trustline: configmap/${app}/nope: not found\n` });
  });
});
