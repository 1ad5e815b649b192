import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_JWKS_KEY, BUNDLE_PEM_KEY, BUNDLE_SPIFFE_KEY } from '../../src/api/well-known.ts';
import type { Journal } from '../../src/core/authorities/model.ts';
import { buildTrustBundle, refreshHintSeconds } from '../../src/core/bundle/trust-bundle.ts';
import { authorityPolicy } from '../../src/core/trustdomain/lifetimes.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import { ROTATION_FAILPOINTS } from '../../src/observability/failpoints.ts';
import { connectWithCrds, OperatorProcess, uniqueName, waitFor } from './support.ts';
import {
  createNamespace,
  createTrustDomain,
  deleteTrustDomains,
  readConfigMap,
  readJournal,
  readTrustDomain,
  waitForReady,
} from './trust-domains.ts';

/**
 * Real rotations on short lifetimes: a one-minute X.509 authority is prepared about 25 s after it is
 * minted and replaced about 48 s after. (JWT-SVIDs live at least 10 minutes, so JWT keys rotate on the
 * same lifecycle code but too slowly to watch here; the unit tests drive both.) The operator is killed at every named step of a rotation and at random
 * moments, and each time it must come back to one consistent state.
 */
describe('authority rotation when the operator is killed', () => {
  const run = uniqueName('rot');
  const operatorNamespace = `${run}-system`;
  const label = { 'trustline-test': run };
  const bundleNamespaces = [`${run}-a`, `${run}-b`];
  const name = run;
  const trustDomain = `${run}.example.org`;
  const bundleName = `${run}-bundle`;
  const spec = {
    trustDomain,
    ca: { ttl: '1m' },
    jwt: { ttl: '1h' },
    svid: { x509TTL: '10s', jwtTTL: '10m' },
    bundle: { configMapName: bundleName, namespaceSelector: { matchLabels: label } },
  };
  const env = { TRUSTLINE_NAMESPACE: operatorNamespace };
  let client: RestClient;
  let operator: OperatorProcess | undefined;

  beforeAll(async () => {
    client = await connectWithCrds();
    await createNamespace(client, operatorNamespace);
    for (const namespace of bundleNamespaces) await createNamespace(client, namespace, label);
    operator = await OperatorProcess.start(env);
    await createTrustDomain(client, name, spec);
    await waitForReady(client, name, 'True');
    await operator.stop();
    operator = undefined;
  });

  afterAll(async () => {
    operator ??= await OperatorProcess.start(env);
    await deleteTrustDomains(client, [name]);
    await operator.stop();
    await client.close();
  });

  /** What is wrong between the journal, the status and every published bundle copy; empty when they agree. */
  async function disagreements(): Promise<{ problems: string[]; journal?: Journal }> {
    const stored = await readJournal(client, operatorNamespace, trustDomain);
    if (!stored) return { problems: ['no journal'] };
    const { journal } = stored;
    const problems: string[] = [];
    for (const type of ['X509', 'JWT'] as const) {
      const active = journal.authorities.filter((a) => a.type === type && a.state === 'Active');
      if (active.length !== 1) problems.push(`${active.length} active ${type} authorities`);
    }
    const object = await readTrustDomain(client, name);
    const view = (list: readonly { id: string; state: string }[]) =>
      list
        .map(({ id, state }) => `${id}:${state}`)
        .sort()
        .join(',');
    if (view(object.status?.authorities ?? []) !== view(journal.authorities)) {
      problems.push('status authorities differ from the journal');
    }
    if (object.status?.bundleSequence !== journal.bundle.sequence) problems.push('status sequence differs');
    const expected = buildTrustBundle({
      journal,
      now: new Date(),
      refreshHintSeconds: refreshHintSeconds(authorityPolicy(object.spec)),
    });
    for (const namespace of bundleNamespaces) {
      const copy = await readConfigMap(client, namespace, bundleName);
      for (const key of [BUNDLE_PEM_KEY, BUNDLE_SPIFFE_KEY, BUNDLE_JWKS_KEY] as const) {
        if (copy?.data?.[key] !== expected.files[key])
          problems.push(`${namespace} ${key} differs from the journal`);
      }
    }
    return { problems, journal };
  }

  const converged = (what: string) =>
    waitFor(`${what}: journal, status and bundles to agree`, async () => {
      const { problems, journal } = await disagreements();
      return problems.length === 0 ? journal : undefined;
    });

  /**
   * The agreed state with an operator running: with none, an authority that expires meanwhile stays in
   * the journal and the copies while the expected bundle prunes it, so they could never agree.
   */
  async function settledBefore(what: string): Promise<Journal> {
    const settling = await OperatorProcess.start(env);
    try {
      return await converged(what);
    } finally {
      await settling.stop();
    }
  }

  it.each(ROTATION_FAILPOINTS)(
    'converges after being killed at %s',
    async (failpoint) => {
      const before = await settledBefore('before the kill');
      const crashing = await OperatorProcess.start({ ...env, TRUSTLINE_FAILPOINTS: failpoint });
      const ended = await Promise.race([crashing.exited(), sleep(90_000).then(() => 'still running')]);
      if (ended === 'still running') await crashing.kill();
      expect(ended, `the operator reached ${failpoint} within 90 s:\n${crashing.log}`).toBe('SIGKILL');

      operator = await OperatorProcess.start(env);
      const after = await converged(`after the kill at ${failpoint}`);
      // Keys written before the kill are kept: every authority still valid then is still there.
      const kept = new Set(after.authorities.map((authority) => authority.id));
      for (const authority of before.authorities) {
        if (Date.parse(authority.notAfter) > Date.now() + 1_000) expect(kept).toContain(authority.id);
      }
      expect(after.bundle.sequence).toBeGreaterThanOrEqual(before.bundle.sequence);
      await operator.stop();
      operator = undefined;
    },
    240_000,
  );

  it('converges after kills at random moments across a rotation', async () => {
    const before = await settledBefore('before the kills');
    const deadline = Date.now() + 60_000;
    let kills = 0;
    while (Date.now() < deadline) {
      const victim = await OperatorProcess.start(env);
      await sleep(randomInt(0, 3_000));
      await victim.kill();
      kills += 1;
    }
    operator = await OperatorProcess.start(env);
    const after = await converged(`after ${kills} kills`);
    // A minute of one-minute authorities always includes at least one rotation.
    expect(after.bundle.sequence).toBeGreaterThan(before.bundle.sequence);
    expect(
      after.authorities.some((authority) => !before.authorities.some((old) => old.id === authority.id)),
    ).toBe(true);
    await operator.stop();
    operator = undefined;
  }, 240_000);
});
