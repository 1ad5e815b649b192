import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ANNOTATION_EMPTIED,
  BUNDLE_JWKS_KEY,
  BUNDLE_PEM_KEY,
  BUNDLE_SPIFFE_KEY,
  OIDC_DISCOVERY_KEY,
  OIDC_KEYS_KEY,
} from '../../src/api/well-known.ts';
import { journalSecretName } from '../../src/core/authorities/journal-codec.ts';
import { mintX509Authority } from '../../src/core/authorities/mint.ts';
import { collectionPath, coreResources, objectPath } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import { METRIC_NAMES } from '../../src/observability/metrics.ts';
import { connectWithCrds, OperatorProcess, uniqueName, waitFor } from './support.ts';
import {
  activeAuthority,
  activeX509,
  createNamespace,
  createTrustDomain,
  deleteTrustDomains,
  opensslVerify,
  readConfigMap,
  readJournal,
  readTrustDomain,
  signLeaf,
  trustDomains,
  waitForReady,
} from './trust-domains.ts';

const spiffeBundleSchema = z.object({
  keys: z.array(
    z.looseObject({
      use: z.enum(['x509-svid', 'jwt-svid']),
      kid: z.string().optional(),
      x5c: z.array(z.string()).optional(),
    }),
  ),
  spiffe_sequence: z.int(),
  spiffe_refresh_hint: z.int(),
});
const jwksSchema = z.object({
  keys: z.array(z.looseObject({ kid: z.string(), alg: z.string(), use: z.literal('sig') })),
});
const discoverySchema = z.looseObject({
  issuer: z.string(),
  jwks_uri: z.string(),
  response_types_supported: z.array(z.string()),
  subject_types_supported: z.array(z.string()),
  id_token_signing_alg_values_supported: z.array(z.string()),
});

const pemCertificates = (pem: string): string[] =>
  pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
const derBase64 = (pem: string) => new X509Certificate(pem).raw.toString('base64');

describe('TrustDomain on a real control plane', () => {
  const run = uniqueName('td');
  const label = { 'trustline-test': run };
  const operatorNamespace = `${run}-system`;
  const [selectedA, selectedB, unselected, later] = ['a', 'b', 'c', 'd'].map((suffix) => `${run}-${suffix}`);
  const name = run;
  const trustDomain = `${run}.example.org`;
  const bundleName = `${run}-bundle`;
  const created: string[] = [];
  let client: RestClient;
  let operator: OperatorProcess;

  beforeAll(async () => {
    client = await connectWithCrds();
    await createNamespace(client, operatorNamespace);
    await createNamespace(client, selectedA ?? '', label);
    await createNamespace(client, selectedB ?? '', label);
    await createNamespace(client, unselected ?? '');
    operator = await OperatorProcess.start({ TRUSTLINE_NAMESPACE: operatorNamespace });
    await createTrustDomain(client, name, {
      trustDomain,
      jwt: { issuer: `https://${trustDomain}` },
      bundle: { configMapName: bundleName, namespaceSelector: { matchLabels: label } },
      oidc: { configMapName: `${run}-oidc`, namespace: selectedA },
    });
    created.push(name);
  });

  afterAll(async () => {
    await deleteTrustDomains(client, created);
    if (operator.child.exitCode === null) await operator.stop();
    await client.close();
  });

  it('gives a new TrustDomain an active X.509 and JWT authority and the bundle in matching namespaces', async () => {
    const ready = await waitForReady(client, name, 'True', 'AuthoritiesActive');
    const authorities = ready.status?.authorities ?? [];
    expect(
      authorities
        .filter((authority) => authority.state === 'Active')
        .map((a) => a.kind)
        .sort(),
    ).toEqual(['JWT', 'X509']);
    expect(ready.status?.expiresAt).toBe(authorities.find((a) => a.kind === 'X509')?.notAfter);
    expect(ready.metadata.finalizers).toContain('trustline.dev/in-use-protection');
    const stored = await readJournal(client, operatorNamespace, trustDomain);
    expect(
      stored?.journal.authorities
        .map(({ id, state }) => ({ id, state }))
        .sort((a, b) => a.id.localeCompare(b.id)),
    ).toEqual(authorities.map(({ id, state }) => ({ id, state })).sort((a, b) => a.id.localeCompare(b.id)));
    for (const namespace of [selectedA, selectedB]) {
      await waitFor(`the bundle in ${namespace}`, () => readConfigMap(client, namespace ?? '', bundleName));
    }
    expect(await readConfigMap(client, unselected ?? '', bundleName)).toBeUndefined();
    expect(ready.status?.bundleNamespaces).toBe(2);
  });

  it('publishes a bundle.pem that openssl verifies a chain from the active authority against', async () => {
    const stored = await readJournal(client, operatorNamespace, trustDomain);
    if (!stored) throw new Error('no journal');
    const bundle = await readConfigMap(client, selectedA ?? '', bundleName);
    const roots = bundle?.data?.[BUNDLE_PEM_KEY] ?? '';
    const leaf = await signLeaf(activeX509(stored.journal), trustDomain);
    const verified = await opensslVerify({ roots, leaf });
    expect(verified.output).toContain(': OK');
    expect(verified.ok).toBe(true);

    // A negative control: the same chain against a CA that did not sign it.
    const unrelated = await mintX509Authority({
      trustDomain: 'unrelated.example.org',
      keyType: 'EC-P256',
      now: new Date(),
      ttlMs: 3_600_000,
    });
    expect((await opensslVerify({ roots: unrelated.certificate, leaf })).ok).toBe(false);
  });

  it('keeps bundle.spiffe.json, jwks.json, the OIDC keys and status in agreement', async () => {
    const object = await waitForReady(client, name, 'True');
    const bundle = await readConfigMap(client, selectedB ?? '', bundleName);
    const data = bundle?.data ?? {};
    const spiffe = spiffeBundleSchema.parse(JSON.parse(data[BUNDLE_SPIFFE_KEY] ?? ''));
    const jwks = jwksSchema.parse(JSON.parse(data[BUNDLE_JWKS_KEY] ?? ''));
    const roots = pemCertificates(data[BUNDLE_PEM_KEY] ?? '').map(derBase64);
    const x509Keys = spiffe.keys.filter((key) => key.use === 'x509-svid');
    const jwtKeys = spiffe.keys.filter((key) => key.use === 'jwt-svid');
    expect(x509Keys.length).toBeGreaterThan(0);
    for (const key of x509Keys) {
      expect(key.kid).toBeUndefined();
      expect(key.x5c).toHaveLength(1);
      expect(roots).toContain(key.x5c?.[0]);
    }
    expect(x509Keys.length).toBe(roots.length);

    const oidc = await waitFor('the OIDC discovery ConfigMap', () =>
      readConfigMap(client, selectedA ?? '', `${run}-oidc`),
    );
    const discovery = discoverySchema.parse(JSON.parse(oidc.data?.[OIDC_DISCOVERY_KEY] ?? ''));
    expect(discovery.issuer).toBe(`https://${trustDomain}`);
    expect(discovery.jwks_uri).toBe(`https://${trustDomain}/keys`);
    expect(discovery.id_token_signing_alg_values_supported).toEqual(['ES256']);
    const oidcKeys = jwksSchema.parse(JSON.parse(oidc.data?.[OIDC_KEYS_KEY] ?? ''));
    expect(jwtKeys.length).toBeGreaterThan(0);
    for (const key of jwtKeys) {
      expect(key.kid).toBeDefined();
      expect(jwks.keys.map((k) => k.kid)).toContain(key.kid);
      expect(oidcKeys.keys.map((k) => k.kid)).toContain(key.kid);
    }
    expect(spiffe.spiffe_sequence).toBe(object.status?.bundleSequence);
    const stored = await readJournal(client, operatorNamespace, trustDomain);
    expect(spiffe.spiffe_sequence).toBe(stored?.journal.bundle.sequence);
  });

  it('reports authority expiry, bundle sequence and rotations as metrics', async () => {
    const text = await operator.metrics();
    const stored = await readJournal(client, operatorNamespace, trustDomain);
    if (!stored) throw new Error('no journal');
    const active = activeAuthority(stored.journal, 'X509');
    expect(text).toContain(
      `${METRIC_NAMES.authorityExpiry}{trust_domain="${trustDomain}",type="X509",id="${active?.id}",state="Active"} ${Date.parse(active?.notAfter ?? '') / 1000}`,
    );
    expect(text).toMatch(
      new RegExp(
        `${METRIC_NAMES.bundleSequence}\\{trust_domain="${trustDomain.replaceAll('.', '\\.')}"\\} [1-9]`,
      ),
    );
    expect(text).toContain(METRIC_NAMES.authorityRotations);
    expect(text).not.toContain('PRIVATE KEY');
  });

  it('publishes to namespaces created later and empties the bundle where the selector stops matching', async () => {
    await createNamespace(client, later ?? '', label);
    await waitFor(`the bundle in ${later}`, () => readConfigMap(client, later ?? '', bundleName));
    await client.request('PATCH', objectPath(coreResources.namespaces, selectedB ?? ''), {
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels: { 'trustline-test': null } } },
    });
    // Emptied by update, not deleted: Trustline holds no cluster-wide ConfigMap delete.
    const emptied = await waitFor(`the bundle to leave ${selectedB}`, async () => {
      const copy = await readConfigMap(client, selectedB ?? '', bundleName);
      return copy !== undefined && Object.keys(copy.data ?? {}).length === 0 ? copy : undefined;
    });
    expect(emptied.metadata.annotations?.[ANNOTATION_EMPTIED]).toBeDefined();
  });

  it('puts back a hand-edited copy and leaves a foreign ConfigMap of the same name alone', async () => {
    const original = await readConfigMap(client, selectedA ?? '', bundleName);
    await client.request('PATCH', objectPath(coreResources.configMaps, bundleName, selectedA), {
      contentType: 'application/merge-patch+json',
      body: { data: { [BUNDLE_PEM_KEY]: 'tampered' } },
    });
    await waitFor('the edited bundle to be put back', async () => {
      const copy = await readConfigMap(client, selectedA ?? '', bundleName);
      return copy?.data?.[BUNDLE_PEM_KEY] === original?.data?.[BUNDLE_PEM_KEY] ? true : undefined;
    });

    const foreignNamespace = `${run}-foreign`;
    await createNamespace(client, foreignNamespace);
    await client.request('POST', collectionPath(coreResources.configMaps, foreignNamespace), {
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: bundleName }, data: { mine: 'yes' } },
    });
    await client.request('PATCH', objectPath(coreResources.namespaces, foreignNamespace), {
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels: label } },
    });
    const reported = await waitFor('the foreign ConfigMap to be reported', async () => {
      const object = await readTrustDomain(client, name);
      return object.status?.foreignBundleNamespaces?.includes(foreignNamespace) ? object : undefined;
    });
    expect(reported.status?.conditions?.find((c) => c.type === 'BundlePublished')).toMatchObject({
      status: 'False',
      reason: 'ForeignConfigMap',
    });
    const foreign = await readConfigMap(client, foreignNamespace, bundleName);
    expect(foreign?.data).toEqual({ mine: 'yes' });
    expect(foreign?.metadata.labels).toBeUndefined();
  });

  it('empties the OIDC ConfigMap when spec.oidc goes, and reports an OIDC namespace that does not exist', async () => {
    await client.request('PATCH', objectPath(trustDomains, name), {
      contentType: 'application/merge-patch+json',
      body: { spec: { oidc: { configMapName: `${run}-oidc`, namespace: `${run}-nowhere` } } },
    });
    const missing = await waitForReady(client, name, 'False', 'OIDCNotPublished');
    expect(missing.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain(`${run}-nowhere`);
    await waitFor('the OIDC ConfigMap to leave its old namespace', async () => {
      const copy = await readConfigMap(client, selectedA ?? '', `${run}-oidc`);
      return copy !== undefined && Object.keys(copy.data ?? {}).length === 0 ? true : undefined;
    });
    await client.request('PATCH', objectPath(trustDomains, name), {
      contentType: 'application/merge-patch+json',
      body: { spec: { oidc: null } },
    });
    await waitForReady(client, name, 'True');
  });

  it('serves TrustDomains whose object and trust domain names are longer than a label value', async () => {
    const long = `${run}-${'n'.repeat(80)}`;
    const longDomain = `${'d'.repeat(50)}.${run}.example.org`;
    await createTrustDomain(client, long, {
      trustDomain: longDomain,
      bundle: { namespaceSelector: { matchLabels: label } },
    });
    created.push(long);
    await waitForReady(client, long, 'True');
    expect(await readJournal(client, operatorNamespace, longDomain)).toBeDefined();
    await waitFor('the long-named bundle', () =>
      readConfigMap(client, selectedA ?? '', `${long}-trust-bundle`),
    );
  });

  it('refuses to replace a lost journal with new keys unless told to', async () => {
    const lost = uniqueName('lost');
    const lostDomain = `${lost}.example.org`;
    await createTrustDomain(client, lost, {
      trustDomain: lostDomain,
      bundle: { namespaceSelector: { matchLabels: label } },
    });
    created.push(lost);
    await waitForReady(client, lost, 'True');
    const before = await readJournal(client, operatorNamespace, lostDomain);
    const bundle = await waitFor('the bundle', () =>
      readConfigMap(client, selectedA ?? '', `${lost}-trust-bundle`),
    );
    await client.request(
      'DELETE',
      objectPath(coreResources.secrets, journalSecretName(lostDomain), operatorNamespace),
    );
    const refused = await waitForReady(client, lost, 'False', 'JournalMissing');
    expect(refused.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain(
      'trustline.dev/reinitialize-keys=true',
    );
    expect((await readConfigMap(client, selectedA ?? '', `${lost}-trust-bundle`))?.data).toEqual(bundle.data);
    expect(await readJournal(client, operatorNamespace, lostDomain)).toBeUndefined();

    await client.request('PATCH', objectPath(trustDomains, lost), {
      contentType: 'application/merge-patch+json',
      body: { metadata: { annotations: { 'trustline.dev/reinitialize-keys': 'true' } } },
    });
    await waitForReady(client, lost, 'True');
    const after = await readJournal(client, operatorNamespace, lostDomain);
    const ids = (stored: typeof after) => stored?.journal.authorities.map((authority) => authority.id) ?? [];
    expect(ids(after).some((id) => ids(before).includes(id))).toBe(false);
  });

  it('mints no new keys when the operator restarts', async () => {
    const before = await readJournal(client, operatorNamespace, trustDomain);
    expect(await operator.stop()).toBe(0);
    operator = await OperatorProcess.start({ TRUSTLINE_NAMESPACE: operatorNamespace });
    await waitFor('the restarted operator to reconcile the TrustDomain', async () =>
      operator.entries().some((line) => line.msg === 'reconciled' && line.key === name) ? true : undefined,
    );
    const after = await readJournal(client, operatorNamespace, trustDomain);
    expect(after?.resourceVersion).toBe(before?.resourceVersion);
    expect(after?.journal).toEqual(before?.journal);
    expect(operator.entries().filter((line) => line.audit === true)).toEqual([]);
  });

  it('refuses a CA lifetime under 6 times the SVID lifetime with a condition that says so', async () => {
    const short = uniqueName('short');
    await createTrustDomain(client, short, {
      trustDomain: `${short}.example.org`,
      ca: { ttl: '5h' },
      svid: { x509TTL: '1h' },
      bundle: { namespaceSelector: { matchLabels: label } },
    });
    created.push(short);
    const object = await waitForReady(client, short, 'False', 'LifetimeTooShort');
    expect(object.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain(
      'ca.ttl 5h is under 6 times svid.x509TTL 1h',
    );
    expect(await readJournal(client, operatorNamespace, `${short}.example.org`)).toBeUndefined();
  });

  it('lets the older of two TrustDomains claiming one trust domain win', async () => {
    const second = uniqueName('second');
    await createTrustDomain(client, second, {
      trustDomain,
      bundle: { namespaceSelector: { matchLabels: label } },
    });
    created.push(second);
    const object = await waitForReady(client, second, 'False', 'Conflict');
    expect(object.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain(
      `TrustDomain ${name}`,
    );
    await waitForReady(client, name, 'True');
    await deleteTrustDomains(client, [second]);
  });

  it('holds deletion while a RegistrationEntry uses it, and a re-created TrustDomain picks up the same keys', async () => {
    const before = await readJournal(client, operatorNamespace, trustDomain);
    await client.request('POST', `/apis/trustline.dev/v1alpha1/namespaces/${selectedA}/registrationentries`, {
      body: {
        apiVersion: 'trustline.dev/v1alpha1',
        kind: 'RegistrationEntry',
        metadata: { name: 'holder' },
        spec: {
          trustDomainRef: { name },
          spiffeIDPath: `/ns/${selectedA}/holder`,
          secret: { name: 'holder-svid' },
        },
      },
    });
    await client.request('DELETE', objectPath(trustDomains, name));
    const held = await waitForReady(client, name, 'False', 'InUse');
    expect(held.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain(
      `${selectedA}/holder`,
    );
    await client.request(
      'DELETE',
      `/apis/trustline.dev/v1alpha1/namespaces/${selectedA}/registrationentries/holder`,
    );
    await deleteTrustDomains(client, [name]);

    await createTrustDomain(client, name, {
      trustDomain,
      bundle: { configMapName: bundleName, namespaceSelector: { matchLabels: label } },
    });
    const again = await waitForReady(client, name, 'True');
    const after = await readJournal(client, operatorNamespace, trustDomain);
    expect(after?.journal.authorities.map((a) => a.id).sort()).toEqual(
      before?.journal.authorities.map((a) => a.id).sort(),
    );
    expect(again.status?.authorities?.map((a) => a.id).sort()).toEqual(
      before?.journal.authorities.map((a) => a.id).sort(),
    );
  });
});
