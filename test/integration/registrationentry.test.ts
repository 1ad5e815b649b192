import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BUNDLE_JWKS_KEY } from '../../src/api/well-known.ts';
import { collectionPath, coreResources, objectPath } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import {
  createEntry,
  entries,
  opensslVerifyStrict,
  readEntry,
  readSecret,
  waitForEntry,
} from './registration-entries.ts';
import { connectWithCrds, OperatorProcess, uniqueName, waitFor } from './support.ts';
import {
  createNamespace,
  createTrustDomain,
  deleteTrustDomains,
  readConfigMap,
  waitForReady,
} from './trust-domains.ts';

const eventsSchema = z.object({
  items: z.array(
    z.looseObject({
      reason: z.string(),
      type: z.string(),
      involvedObject: z.looseObject({ name: z.string() }),
    }),
  ),
});

const uriSanOf = (certificate: { subjectaltname?: string | undefined } | undefined) =>
  certificate?.subjectaltname
    ?.split(', ')
    .find((name) => name.startsWith('URI:'))
    ?.slice(4);

/**
 * A mutual TLS handshake between two workloads holding their Secrets: each side verifies the other's
 * chain against its own ca.crt and reads the peer's SPIFFE ID. Resolves with both IDs, or rejects.
 */
async function mutualTls(server: Record<string, string>, client: Record<string, string>) {
  const listener = createServer({
    cert: server['tls.crt'],
    key: server['tls.key'],
    ca: server['ca.crt'],
    requestCert: true,
    rejectUnauthorized: true,
  });
  const seenByServer = new Promise<string | undefined>((resolve) => {
    listener.on('secureConnection', (socket: TLSSocket) => {
      resolve(uriSanOf(socket.getPeerCertificate()));
      socket.end();
    });
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const address = listener.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  try {
    const seenByClient = await new Promise<string | undefined>((resolve, reject) => {
      const socket = connect({
        host: '127.0.0.1',
        port: address.port,
        cert: client['tls.crt'],
        key: client['tls.key'],
        ca: client['ca.crt'],
        // SPIFFE authenticates by the URI SAN, not a host name.
        checkServerIdentity: () => undefined,
      });
      socket.once('secureConnect', () => {
        resolve(uriSanOf(socket.getPeerCertificate()));
        socket.end();
      });
      socket.once('error', reject);
    });
    return { seenByClient, seenByServer: await seenByServer };
  } finally {
    listener.close();
  }
}

describe('RegistrationEntry on a real control plane', () => {
  const run = uniqueName('re');
  const operatorNamespace = `${run}-system`;
  const shop = `${run}-shop`;
  const pay = `${run}-pay`;
  const label = { 'trustline-test': run };
  const trustDomainName = run;
  const trustDomain = `${run}.example.org`;
  const otherName = `${run}-other`;
  const auditLog = join(tmpdir(), `${run}-audit.log`);
  let client: RestClient;
  let operator: OperatorProcess;

  beforeAll(async () => {
    client = await connectWithCrds();
    await createNamespace(client, operatorNamespace);
    await createNamespace(client, shop, label);
    await createNamespace(client, pay, label);
    operator = await OperatorProcess.start({
      TRUSTLINE_NAMESPACE: operatorNamespace,
      TRUSTLINE_AUDIT_LOG: auditLog,
    });
    await createTrustDomain(client, trustDomainName, {
      trustDomain,
      jwt: { issuer: `https://${trustDomain}` },
      bundle: { namespaceSelector: { matchLabels: label } },
    });
    await createTrustDomain(client, otherName, {
      trustDomain: `${otherName}.example.org`,
      bundle: { namespaceSelector: { matchLabels: label } },
    });
    await waitForReady(client, trustDomainName, 'True');
    await waitForReady(client, otherName, 'True');
  });

  afterAll(async () => {
    for (const namespace of [shop, pay]) {
      await client.request('DELETE', collectionPath(entries, namespace));
    }
    await deleteTrustDomains(client, [trustDomainName, otherName]);
    await operator.stop();
    await client.close();
  });

  it('writes a kubernetes.io/tls Secret whose chain openssl verifies strictly, for client and server use', async () => {
    await createEntry(client, shop, 'cart', {
      trustDomainRef: { name: trustDomainName },
      spiffeIDPath: `/ns/${shop}/sa/cart`,
      dnsNames: [`cart.${shop}.svc`, `cart.${shop}.svc.cluster.local`],
      jwtSVIDs: [{ key: 'token', audiences: ['payments'] }],
      secret: { name: 'cart-svid', labels: { app: 'cart' }, annotations: { team: 'shop' } },
    });
    const entry = await waitForEntry(client, shop, 'cart', 'True', 'Issued');
    const secret = await readSecret(client, shop, 'cart-svid');
    if (!secret) throw new Error('no Secret');
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(Object.keys(secret.data).sort()).toEqual(
      ['ca.crt', 'svid.pem', 'svid_bundle.pem', 'svid_key.pem', 'tls.crt', 'tls.key', 'token'].sort(),
    );
    expect(secret.metadata.labels).toMatchObject({
      app: 'cart',
      'app.kubernetes.io/managed-by': 'trustline',
    });
    expect(secret.metadata.annotations).toMatchObject({
      team: 'shop',
      'trustline.dev/spiffe-id': `spiffe://${trustDomain}/ns/${shop}/sa/cart`,
      'trustline.dev/svid-serial': entry.status?.svid?.serial,
      'trustline.dev/svid-authority-id': entry.status?.svid?.authorityID,
      'trustline.dev/svid-not-after': entry.status?.svid?.notAfter,
      'trustline.dev/svid-renew-at': entry.status?.svid?.renewAt,
    });
    expect(secret.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'RegistrationEntry',
      uid: entry.metadata.uid,
    });
    expect(entry.status?.spiffeID).toBe(`spiffe://${trustDomain}/ns/${shop}/sa/cart`);
    const leaf = new X509Certificate(secret.data['svid.pem'] ?? '');
    expect(leaf.subjectAltName).toContain(`URI:spiffe://${trustDomain}/ns/${shop}/sa/cart`);
    expect(leaf.subjectAltName).toContain(`DNS:cart.${shop}.svc`);
    for (const purpose of ['sslclient', 'sslserver'] as const) {
      const verified = await opensslVerifyStrict(secret.data, purpose);
      expect(verified.output).toContain(': OK');
      expect(verified.ok).toBe(true);
    }
  });

  it('issues JWT-SVIDs that verify against the JWKS in the bundle ConfigMap', async () => {
    const secret = await readSecret(client, shop, 'cart-svid');
    const bundle = await waitFor('the bundle ConfigMap', () =>
      readConfigMap(client, shop, `${trustDomainName}-trust-bundle`),
    );
    const jwks = createLocalJWKSet(JSON.parse(bundle.data?.[BUNDLE_JWKS_KEY] ?? ''));
    const { payload, protectedHeader } = await jwtVerify(secret?.data.token ?? '', jwks, {
      audience: 'payments',
      issuer: `https://${trustDomain}`,
    });
    expect(payload.sub).toBe(`spiffe://${trustDomain}/ns/${shop}/sa/cart`);
    expect(protectedHeader.kid).toBeDefined();
    expect(payload.jti).toBeDefined();
  });

  it('lets two workloads complete mutual TLS and refuses a workload of another trust domain', async () => {
    await createEntry(client, pay, 'ledger', {
      trustDomainRef: { name: trustDomainName },
      spiffeIDPath: `/ns/${pay}/sa/ledger`,
      secret: { name: 'ledger-svid' },
    });
    await createEntry(client, pay, 'stranger', {
      trustDomainRef: { name: otherName },
      spiffeIDPath: `/ns/${pay}/sa/stranger`,
      secret: { name: 'stranger-svid' },
    });
    await waitForEntry(client, pay, 'ledger', 'True');
    await waitForEntry(client, pay, 'stranger', 'True');
    const cart = (await readSecret(client, shop, 'cart-svid'))?.data ?? {};
    const ledger = (await readSecret(client, pay, 'ledger-svid'))?.data ?? {};
    const stranger = (await readSecret(client, pay, 'stranger-svid'))?.data ?? {};
    expect(await mutualTls(cart, ledger)).toEqual({
      seenByClient: `spiffe://${trustDomain}/ns/${shop}/sa/cart`,
      seenByServer: `spiffe://${trustDomain}/ns/${pay}/sa/ledger`,
    });
    await expect(mutualTls(cart, stranger)).rejects.toThrow();
  });

  it('refuses an ID or DNS name of another namespace, naming the rule, and signs nothing', async () => {
    await createEntry(client, shop, 'thief', {
      trustDomainRef: { name: trustDomainName },
      spiffeIDPath: `/ns/${pay}/sa/ledger`,
      secret: { name: 'thief-svid' },
    });
    const path = await waitForEntry(client, shop, 'thief', 'False', 'PathNotAllowed');
    expect(path.status?.conditions?.[0]?.message).toContain(`/ns/${pay}/sa/ledger`);
    await createEntry(client, shop, 'dns-thief', {
      trustDomainRef: { name: trustDomainName },
      spiffeIDPath: `/ns/${shop}/sa/dns-thief`,
      dnsNames: [`ledger.${pay}.svc`],
      secret: { name: 'dns-thief-svid' },
    });
    const dns = await waitForEntry(client, shop, 'dns-thief', 'False', 'DNSNameNotAllowed');
    expect(dns.status?.conditions?.[0]?.message).toContain(`ledger.${pay}.svc`);
    expect(await readSecret(client, shop, 'thief-svid')).toBeUndefined();
    expect(await readSecret(client, shop, 'dns-thief-svid')).toBeUndefined();
  });

  it('admits an ID a TrustDomain grant gives the namespace', async () => {
    await client.request('PATCH', objectPath(coreResources.namespaces, shop), {
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels: { team: `${run}-payments` } } },
    });
    await client.request('PATCH', `/apis/trustline.dev/v1alpha1/trustdomains/${trustDomainName}`, {
      contentType: 'application/merge-patch+json',
      body: {
        spec: {
          grants: [
            {
              namespaceSelector: { matchLabels: { team: `${run}-payments` } },
              spiffeIDPathPrefixes: [`/ns/${pay}`],
            },
          ],
        },
      },
    });
    await waitForEntry(client, shop, 'thief', 'True', 'Issued');
  });

  it('repairs a deleted Secret, a removed key, a hand edit and a spec change', async () => {
    const serialOf = async () => (await readEntry(client, shop, 'cart')).status?.svid?.serial;
    const first = await serialOf();
    await client.request('DELETE', objectPath(coreResources.secrets, 'cart-svid', shop));
    await waitFor('the deleted Secret to come back', () => readSecret(client, shop, 'cart-svid'));

    await client.request('PATCH', objectPath(coreResources.secrets, 'cart-svid', shop), {
      contentType: 'application/json-patch+json',
      // kubernetes.io/tls Secrets must keep tls.key, so the spiffe-helper copy goes.
      body: [{ op: 'remove', path: '/data/svid_key.pem' }],
    });
    await waitFor('the removed key to come back', async () =>
      (await readSecret(client, shop, 'cart-svid'))?.data['svid_key.pem'] ? true : undefined,
    );

    const stranger = (await readSecret(client, pay, 'stranger-svid'))?.data['tls.crt'] ?? '';
    await client.request('PATCH', objectPath(coreResources.secrets, 'cart-svid', shop), {
      contentType: 'application/merge-patch+json',
      body: { data: { 'tls.crt': Buffer.from(stranger).toString('base64') } },
    });
    await waitFor('the foreign certificate to be replaced', async () => {
      const certificate = (await readSecret(client, shop, 'cart-svid'))?.data['tls.crt'] ?? '';
      return certificate !== stranger && certificate.includes('BEGIN CERTIFICATE') ? true : undefined;
    });
    const secret = await readSecret(client, shop, 'cart-svid');
    expect(new X509Certificate(secret?.data['tls.crt'] ?? '').subjectAltName).toContain(
      `URI:spiffe://${trustDomain}/ns/${shop}/sa/cart`,
    );

    const beforeSpec = await serialOf();
    await client.request('PATCH', objectPath(entries, 'cart', shop), {
      contentType: 'application/merge-patch+json',
      body: { spec: { dnsNames: [`cart.${shop}.svc`] } },
    });
    const changed = await waitFor('a new SVID for the changed spec', async () => {
      const entry = await readEntry(client, shop, 'cart');
      return entry.status?.observedGeneration === entry.metadata.generation &&
        entry.status?.svid?.serial !== beforeSpec
        ? entry
        : undefined;
    });
    expect(changed.status?.svid?.serial).not.toBe(first);
    const reissued = await readSecret(client, shop, 'cart-svid');
    expect(new X509Certificate(reissued?.data['tls.crt'] ?? '').subjectAltName).not.toContain(
      'cluster.local',
    );
  });

  it('never overwrites a Secret it does not own, and says so', async () => {
    await client.request('POST', collectionPath(coreResources.secrets, shop), {
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'taken' }, stringData: { mine: 'yes' } },
    });
    await createEntry(client, shop, 'squatter', {
      trustDomainRef: { name: trustDomainName },
      spiffeIDPath: `/ns/${shop}/sa/squatter`,
      secret: { name: 'taken' },
    });
    const entry = await waitForEntry(client, shop, 'squatter', 'False', 'SecretConflict');
    expect(entry.status?.conditions?.[0]?.message).toContain(`Secret ${shop}/taken exists`);
    expect((await readSecret(client, shop, 'taken'))?.data).toEqual({ mine: 'yes' });
  });

  it('reports a missing TrustDomain and caps a lifetime the authority cannot serve, with a warning', async () => {
    await createEntry(client, shop, 'orphan', {
      trustDomainRef: { name: `${run}-missing` },
      spiffeIDPath: `/ns/${shop}/sa/orphan`,
      secret: { name: 'orphan-svid' },
    });
    await waitForEntry(client, shop, 'orphan', 'False', 'TrustDomainNotFound');

    await createEntry(client, shop, 'long', {
      trustDomainRef: { name: trustDomainName },
      spiffeIDPath: `/ns/${shop}/sa/long`,
      x509: { ttl: '12h' },
      secret: { name: 'long-svid' },
    });
    const entry = await waitForEntry(client, shop, 'long', 'True', 'Issued');
    expect(entry.status?.conditions?.[0]?.message).toContain('x509.ttl 12h is capped at 14400s');
    const secret = await readSecret(client, shop, 'long-svid');
    const leaf = new X509Certificate(secret?.data['tls.crt'] ?? '');
    expect(leaf.validToDate.getTime() - leaf.validFromDate.getTime()).toBeLessThanOrEqual(
      4 * 3_600_000 + 10_000,
    );
    const events = eventsSchema.parse(
      await client.request('GET', collectionPath(coreResources.events, shop), {
        query: { fieldSelector: 'involvedObject.name=long' },
      }),
    );
    expect(events.items.map((event) => `${event.type}/${event.reason}`)).toEqual(
      expect.arrayContaining(['Warning/TTLCapped', 'Normal/Issued']),
    );
  });

  it('writes an audit record for every signing, and never key material', async () => {
    const lines = (await readFile(auditLog, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const svids = lines.filter((line) => line.signing?.operation === 'x509-svid');
    expect(svids.length).toBeGreaterThan(0);
    expect(svids[0]).toMatchObject({
      audit: true,
      signing: {
        trustDomain,
        spiffeId: expect.stringMatching(/^spiffe:\/\//),
        entryUid: expect.any(String),
        keyType: 'EC-P256',
        reason: expect.any(String),
        signer: expect.any(String),
        subject: expect.any(String),
      },
    });
    expect(lines.some((line) => line.signing?.operation === 'jwt-svid')).toBe(true);
    expect(JSON.stringify(lines)).not.toContain('PRIVATE KEY');
  });
});
