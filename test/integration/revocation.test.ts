import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_PEM_KEY, OIDC_KEYS_KEY } from '../../src/api/well-known.ts';
import type { Journal } from '../../src/core/authorities/model.ts';
import { collectionPath, objectPath } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import { METRIC_NAMES } from '../../src/observability/metrics.ts';
import {
  captureSvid,
  createKeyRevocation,
  createWorkloads,
  expectNotPublished,
  expectWorkloadsMovedOn,
  jwtVerifies,
  keyRevocations,
  publishedBundles,
  publishedKeyOfCertificate,
  readyMessage,
  type Workload,
  waitForEvents,
  waitForRevocation,
} from './key-revocations.ts';
import { entries, opensslVerifyStrict, waitForEntry } from './registration-entries.ts';
import { connectWithCrds, OperatorProcess, uniqueName, waitFor } from './support.ts';
import {
  activeAuthority,
  activeJwt,
  activeX509,
  createNamespace,
  createTrustDomain,
  deleteTrustDomains,
  makeCA,
  putUpstreamSecret,
  readConfigMap,
  readJournal,
  readTrustDomain,
  waitForReady,
} from './trust-domains.ts';

/**
 * KeyRevocation on the real control plane: 104 workloads in four namespaces under a self-signed trust
 * domain (X.509 and JWT revocations) and 104 under an upstream-signed one (an upstream root revoked).
 * After each revocation no document a relying party reads still holds the key, every workload holds
 * SVIDs that verify without it, and what was issued before no longer verifies.
 */
describe('KeyRevocation', () => {
  const run = uniqueName('krev');
  const operatorNamespace = `${run}-system`;
  const label = { 'trustline-test': run };
  const appNamespaces = ['a', 'b', 'c', 'd'].map((suffix) => `${run}-${suffix}`);
  const oidcNamespace = appNamespaces[0] ?? '';
  const selfSigned = `${run}-self`;
  const upstreamSigned = `${run}-up`;
  const selfDomain = `${run}.self.example.org`;
  const upstreamDomain = `${run}.up.example.org`;
  const bundleOf = (name: string) => `${name}-bundle`;
  const oidcConfigMap = `${run}-oidc`;
  const PER_NAMESPACE = 26;
  const env = { TRUSTLINE_NAMESPACE: operatorNamespace };
  let client: RestClient;
  let operator: OperatorProcess | undefined;
  let selfWorkloads: Workload[];
  let upstreamWorkloads: Workload[];
  let root1: { certificate: string; key: string };
  const refusedNames: string[] = [];

  const journalOf = async (trustDomain: string): Promise<{ journal: Journal; resourceVersion: string }> => {
    const stored = await readJournal(client, operatorNamespace, trustDomain);
    if (!stored) throw new Error(`no journal for ${trustDomain}`);
    return stored;
  };

  /** Bundle documents of every namespace, plus the OIDC keys for the self-signed trust domain. */
  const documents = async (trustDomainObject: string) => {
    const bundles = await publishedBundles(client, appNamespaces, bundleOf(trustDomainObject));
    const all: Record<string, string> = {};
    bundles.forEach((data, i) => {
      for (const [key, value] of Object.entries(data)) all[`${appNamespaces[i]}/${key}`] = value;
    });
    if (trustDomainObject === selfSigned) {
      const oidc = await readConfigMap(client, oidcNamespace, oidcConfigMap);
      all[`${oidcNamespace}/${oidcConfigMap}/${OIDC_KEYS_KEY}`] = oidc?.data?.[OIDC_KEYS_KEY] ?? '';
    }
    const [first] = bundles;
    return { all, bundlePem: first?.[BUNDLE_PEM_KEY] ?? '', jwks: first?.['jwks.json'] ?? '' };
  };

  beforeAll(async () => {
    client = await connectWithCrds();
    await createNamespace(client, operatorNamespace);
    for (const namespace of appNamespaces) await createNamespace(client, namespace, label);
    root1 = await makeCA('CN=Revocation Root 1');
    const signer1 = await makeCA('CN=Revocation Signer 1', root1);
    await putUpstreamSecret(client, operatorNamespace, 'upstream-ca', upstreamSigned, {
      'tls.crt': signer1.certificate,
      'tls.key': signer1.key,
      'ca.crt': root1.certificate,
    });
    operator = await OperatorProcess.start(env);
    const bundle = { namespaceSelector: { matchLabels: label } };
    await createTrustDomain(client, selfSigned, {
      trustDomain: selfDomain,
      jwt: { issuer: `https://${selfDomain}` },
      oidc: { configMapName: oidcConfigMap, namespace: oidcNamespace },
      bundle: { ...bundle, configMapName: bundleOf(selfSigned) },
    });
    await createTrustDomain(client, upstreamSigned, {
      trustDomain: upstreamDomain,
      upstream: { secretName: 'upstream-ca' },
      bundle: { ...bundle, configMapName: bundleOf(upstreamSigned) },
    });
    await waitForReady(client, selfSigned, 'True');
    await waitForReady(client, upstreamSigned, 'True');
    selfWorkloads = await createWorkloads(client, selfSigned, appNamespaces, PER_NAMESPACE);
    upstreamWorkloads = await createWorkloads(client, upstreamSigned, appNamespaces, PER_NAMESPACE);
    for (const namespace of appNamespaces) {
      for (let i = 0; i < PER_NAMESPACE; i++) {
        await waitForEntry(client, namespace, `${selfSigned}-w${i}`, 'True', 'Issued');
        await waitForEntry(client, namespace, `${upstreamSigned}-w${i}`, 'True', 'Issued');
      }
    }
  });

  afterAll(async () => {
    await client.request('DELETE', collectionPath(keyRevocations));
    for (const namespace of appNamespaces) await client.request('DELETE', collectionPath(entries, namespace));
    await deleteTrustDomains(client, [selfSigned, upstreamSigned]);
    if (operator && operator.child.exitCode === null) await operator.stop();
    await client.close();
  });

  it('refuses an unknown id, another trust domain, a mismatched kind and an upstream intermediate, changing nothing', async () => {
    const self = await journalOf(selfDomain);
    const upstream = await journalOf(upstreamDomain);
    const jwtKid = activeAuthority(self.journal, 'JWT')?.id ?? '';
    const intermediate = activeX509(upstream.journal);
    const refusals = [
      {
        name: `${run}-unknown`,
        spec: { trustDomainRef: { name: selfSigned }, authority: { kind: 'X509' as const, id: 'ffee' } },
        reason: 'UnknownAuthority',
        message: `trust domain ${selfDomain} has no X.509 authority ffee`,
      },
      {
        name: `${run}-elsewhere`,
        spec: {
          trustDomainRef: { name: selfSigned },
          authority: { kind: 'X509' as const, id: intermediate.id },
        },
        reason: 'OtherTrustDomain',
        message: `${intermediate.id} belongs to trust domain ${upstreamDomain}, not ${selfDomain}`,
      },
      {
        name: `${run}-kind`,
        spec: { trustDomainRef: { name: selfSigned }, authority: { kind: 'X509' as const, id: jwtKid } },
        reason: 'KindMismatch',
        message: `${jwtKid} is a JWT key of trust domain ${selfDomain}, not an X.509 authority: set spec.authority.kind to JWT`,
      },
      {
        name: `${run}-intermediate`,
        spec: {
          trustDomainRef: { name: upstreamSigned },
          authority: { kind: 'X509' as const, id: intermediate.id },
        },
        reason: 'UpstreamIntermediate',
        message: `revoke the upstream root ${intermediate.upstream?.rootId} (kind UpstreamX509)`,
      },
    ];
    refusedNames.push(...refusals.map(({ name }) => name));
    for (const { name, spec } of refusals) {
      await createKeyRevocation(client, name, { ...spec, reason: 'KeyCompromise' });
    }
    for (const { name, reason, message } of refusals) {
      const failed = await waitForRevocation(client, name, 'Failed', reason);
      expect(readyMessage(failed)).toContain(message);
      expect(readyMessage(failed)).toContain('nothing was changed');
      await waitForEvents(client, 'KeyRevocation', name, [reason]);
    }
    // Refused revocations taint nothing: the journals and bundles are as they were.
    await sleep(1_000);
    expect((await journalOf(selfDomain)).resourceVersion).toBe(self.resourceVersion);
    expect((await journalOf(upstreamDomain)).resourceVersion).toBe(upstream.resourceVersion);
    for (const { name } of refusals) await client.request('DELETE', objectPath(keyRevocations, name));
  });

  it('revokes the active X.509 authority of a self-signed trust domain', async () => {
    const before = await journalOf(selfDomain);
    const target = activeX509(before.journal);
    const old = await captureSvid(client, selfWorkloads[0] as Workload);
    const sequenceBefore = before.journal.bundle.sequence;
    const name = `${run}-x509`;
    await createKeyRevocation(client, name, {
      trustDomainRef: { name: selfSigned },
      authority: { kind: 'X509', id: target.id.toUpperCase() },
      reason: 'KeyCompromise',
    });
    const done = await waitForRevocation(client, name, 'Revoked', 'Revoked');
    const status = done.status ?? {};
    expect(status.affectedSVIDs).toBeGreaterThanOrEqual(selfWorkloads.length);
    expect(status.reissuedSVIDs).toBe(status.affectedSVIDs);
    for (const step of ['validatedAt', 'rotatedAt', 'taintedAt', 'reissuedAt', 'revokedAt'] as const) {
      expect(status[step], step).toBeDefined();
    }
    expect(status.replacedBy).toBeDefined();
    expect(status.replacedBy).not.toBe(target.id);

    const after = await journalOf(selfDomain);
    expect(after.journal.authorities.map((a) => a.id)).not.toContain(target.id);
    expect(JSON.stringify(after.journal)).not.toContain(target.privateKey.trim().split('\n')[1]);
    expect(after.journal.revoked).toContainEqual({ type: 'X509', id: target.id });
    expect(after.journal.bundle.sequence).toBeGreaterThan(sequenceBefore);
    await waitFor('the TrustDomain status to show the key revoked', async () => {
      const trustDomain = await readTrustDomain(client, selfSigned);
      return trustDomain.status?.revocations?.find(
        (r) => r.keyRevocation === name && r.kind === 'X509' && r.id === target.id && r.state === 'Revoked',
      );
    });

    const { all, bundlePem, jwks } = await documents(selfSigned);
    expectNotPublished(all, publishedKeyOfCertificate(target.certificate), 'after the revocation');
    await expectWorkloadsMovedOn(client, selfWorkloads, { bundlePem, jwks, cutIds: [target.id] });
    const stale = await opensslVerifyStrict({ ...old.data, 'ca.crt': bundlePem }, 'sslclient');
    expect(stale.ok, 'an SVID issued before the revocation fails against the new bundle').toBe(false);

    await waitForEvents(client, 'KeyRevocation', name, [
      'Accepted',
      'AuthorityTainted',
      'AuthorityReissued',
      'AuthorityRevoked',
    ]);
    const audits = operator?.entries().filter((line) => line.audit === true && 'revocation' in line) ?? [];
    expect(audits.map((line) => line.msg)).toEqual(
      expect.arrayContaining([
        'revocation Accepted',
        'revocation Tainted',
        'revocation Reissued',
        'revocation Revoked',
      ]),
    );
    const metrics = (await operator?.metrics()) ?? '';
    expect(metrics).toMatch(
      new RegExp(`${METRIC_NAMES.revocationRevoked}_count\\{kind="X509",reason="KeyCompromise"\\} 1`),
    );
    expect(metrics).toMatch(
      new RegExp(`${METRIC_NAMES.revocationReissue}_count\\{kind="X509",reason="KeyCompromise"\\} 1`),
    );

    // Revoking it again is a no-op that says so; deleting the KeyRevocation does not bring it back.
    await createKeyRevocation(client, `${name}-again`, {
      trustDomainRef: { name: selfSigned },
      authority: { kind: 'X509', id: target.id },
      reason: 'Superseded',
    });
    const again = await waitForRevocation(client, `${name}-again`, 'Revoked', 'AlreadyRevoked');
    expect(readyMessage(again)).toContain(`carried out for KeyRevocation ${name}`);
    await client.request('DELETE', objectPath(keyRevocations, name));
    await sleep(2_000);
    const later = await journalOf(selfDomain);
    expect(later.journal.revoked).toContainEqual({ type: 'X509', id: target.id });
    expectNotPublished(
      (await documents(selfSigned)).all,
      publishedKeyOfCertificate(target.certificate),
      'after deletion',
    );
  });

  it('revokes the active JWT key after its grace period, with a second KeyRevocation for it at once', async () => {
    const before = await journalOf(selfDomain);
    const target = activeJwt(before.journal);
    const old = await captureSvid(client, selfWorkloads[1] as Workload);
    const name = `${run}-jwt`;
    const spec = {
      trustDomainRef: { name: selfSigned },
      authority: { kind: 'JWT' as const, id: target.id },
      reason: 'PolicyChange',
      gracePeriod: '3s',
    };
    await Promise.all([
      createKeyRevocation(client, name, spec),
      createKeyRevocation(client, `${name}-twin`, spec),
    ]);
    const [first, twin] = await Promise.all([
      waitForRevocation(client, name, 'Revoked'),
      waitForRevocation(client, `${name}-twin`, 'Revoked'),
    ]);
    // Exactly one carries it out; the other follows its record and says so.
    const reasons = [first, twin].map(
      (object) => object.status?.conditions?.find((c) => c.type === 'Ready')?.reason,
    );
    expect([...reasons].sort()).toEqual(['AlreadyRevoked', 'Revoked']);
    const carriedOut = reasons[0] === 'Revoked' ? first : twin;
    const follower = carriedOut === first ? twin : first;
    expect(readyMessage(follower)).toContain(`carried out for KeyRevocation ${carriedOut.metadata.name}`);
    const records = (await journalOf(selfDomain)).journal.revocations.filter((r) => r.id === target.id);
    expect(records.map((r) => r.requestedBy)).toEqual([carriedOut.metadata.name]);
    const status = carriedOut.status ?? {};
    expect(Date.parse(status.revokedAt ?? '') - Date.parse(status.reissuedAt ?? '')).toBeGreaterThanOrEqual(
      3_000,
    );
    expect(status.reissuedSVIDs).toBeGreaterThanOrEqual(selfWorkloads.length);

    const { all, bundlePem, jwks } = await documents(selfSigned);
    expectNotPublished(
      all,
      { publicMember: String(target.publicKey.x ?? target.publicKey.n), kid: target.id },
      'after the JWT revocation',
    );
    await expectWorkloadsMovedOn(client, selfWorkloads, { bundlePem, jwks, cutIds: [target.id] });
    expect(await jwtVerifies(old.token, jwks), 'a JWT-SVID issued before fails against the new JWKS').toBe(
      false,
    );
    const oidc = all[`${oidcNamespace}/${oidcConfigMap}/${OIDC_KEYS_KEY}`] ?? '';
    expect(await jwtVerifies(old.token, oidc)).toBe(false);
  });

  it.each([
    ['revocation-tainted', 'X509'],
    ['revocation-revoked', 'JWT'],
  ] as const)('finishes a revocation after the operator is killed at %s', async (failpoint, kind) => {
    await operator?.stop();
    const before = await journalOf(selfDomain);
    const target = kind === 'X509' ? activeX509(before.journal) : activeJwt(before.journal);
    const crashing = await OperatorProcess.start({ ...env, TRUSTLINE_FAILPOINTS: failpoint });
    const name = `${run}-${failpoint}`;
    await createKeyRevocation(client, name, {
      trustDomainRef: { name: selfSigned },
      authority: { kind, id: target.id },
      reason: 'KeyStorageLost',
      gracePeriod: '0s',
    });
    const ended = await Promise.race([crashing.exited(), sleep(90_000).then(() => 'still running')]);
    if (ended === 'still running') await crashing.kill();
    expect(ended, `the operator reached ${failpoint}:\n${crashing.log}`).toBe('SIGKILL');

    operator = await OperatorProcess.start(env);
    await waitForRevocation(client, name, 'Revoked', 'Revoked');
    // Audit records written before the kill and after the restart: every step, none lost.
    const audited = [crashing, operator].flatMap((process) =>
      process.entries().flatMap((line) => {
        const record = line.revocation;
        return line.audit === true &&
          typeof record === 'object' &&
          record !== null &&
          'keyRevocation' in record &&
          record.keyRevocation === name
          ? [line.msg]
          : [];
      }),
    );
    expect(audited).toEqual(
      expect.arrayContaining([
        'revocation Accepted',
        'revocation Tainted',
        'revocation Reissued',
        'revocation Revoked',
      ]),
    );
    const { all, bundlePem, jwks } = await documents(selfSigned);
    const key =
      target.type === 'X509'
        ? publishedKeyOfCertificate(target.certificate)
        : { publicMember: String(target.publicKey.x ?? target.publicKey.n), kid: target.id };
    expectNotPublished(all, key, `after the kill at ${failpoint}`);
    await expectWorkloadsMovedOn(client, selfWorkloads, { bundlePem, jwks, cutIds: [target.id] });
  });

  it('revokes an upstream root once the upstream signer chains to another one', async () => {
    const before = await journalOf(upstreamDomain);
    const intermediate = activeX509(before.journal);
    const rootId = intermediate.upstream?.rootId ?? '';
    const old = await captureSvid(client, upstreamWorkloads[0] as Workload);
    const name = `${run}-root`;
    await createKeyRevocation(client, name, {
      trustDomainRef: { name: upstreamSigned },
      authority: { kind: 'UpstreamX509', id: rootId },
      reason: 'KeyCompromise',
    });
    const refused = await waitForRevocation(client, name, 'Failed', 'SignerOnRevokedRoot');
    expect(readyMessage(refused)).toContain(`chains to root ${rootId}, the one to revoke`);
    await sleep(1_000);
    expect((await journalOf(upstreamDomain)).resourceVersion).toBe(before.resourceVersion);

    // The administrator puts a signer under a second root in the upstream Secret: the revocation proceeds.
    const root2 = await makeCA('CN=Revocation Root 2');
    const signer2 = await makeCA('CN=Revocation Signer 2', root2);
    await putUpstreamSecret(client, operatorNamespace, 'upstream-ca', upstreamSigned, {
      'tls.crt': signer2.certificate,
      'tls.key': signer2.key,
      'ca.crt': root1.certificate + root2.certificate,
    });
    const done = await waitForRevocation(client, name, 'Revoked', 'Revoked');
    expect(done.status?.reissuedSVIDs).toBeGreaterThanOrEqual(upstreamWorkloads.length);
    const after = await journalOf(upstreamDomain);
    expect(after.journal.revoked).toContainEqual({ type: 'UpstreamX509', id: rootId });
    expect(after.journal.authorities.some((a) => a.type === 'X509' && a.upstream?.rootId === rootId)).toBe(
      false,
    );

    const { all, bundlePem, jwks } = await documents(upstreamSigned);
    expectNotPublished(all, publishedKeyOfCertificate(root1.certificate), 'after the root revocation');
    await expectWorkloadsMovedOn(client, upstreamWorkloads, { bundlePem, jwks, cutIds: [intermediate.id] });
    const stale = await opensslVerifyStrict({ ...old.data, 'ca.crt': bundlePem }, 'sslclient');
    expect(stale.ok, 'an SVID chaining to the revoked root fails against the new bundle').toBe(false);
  });

  it('keeps revoked keys out after the KeyRevocations are gone and the operator restarts', async () => {
    const before = await journalOf(selfDomain);
    const upstreamBefore = await journalOf(upstreamDomain);
    await client.request('DELETE', collectionPath(keyRevocations));
    await operator?.stop();
    operator = await OperatorProcess.start(env);
    await waitFor('the TrustDomain to be reconciled after the restart', async () => {
      const td = await readTrustDomain(client, selfSigned);
      return td.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? td : undefined;
    });
    await sleep(2_000);
    const after = await journalOf(selfDomain);
    expect(after.journal.revoked).toEqual(before.journal.revoked);
    expect(after.journal.bundle.sequence).toBe(before.journal.bundle.sequence);
    // The upstream Secret still holds the revoked root in ca.crt: it stays out of every bundle.
    const upstreamAfter = await journalOf(upstreamDomain);
    expect(upstreamAfter.journal.revoked).toEqual(upstreamBefore.journal.revoked);
    expect(upstreamAfter.journal.bundle.sequence).toBe(upstreamBefore.journal.bundle.sequence);
    expectNotPublished(
      (await documents(upstreamSigned)).all,
      publishedKeyOfCertificate(root1.certificate),
      'after the restart',
    );
    // No refused KeyRevocation ever reached the journals.
    const requested = [...after.journal.revocations, ...upstreamAfter.journal.revocations].map(
      (r) => r.requestedBy,
    );
    for (const refused of refusedNames) expect(requested).not.toContain(refused);
  });
});
