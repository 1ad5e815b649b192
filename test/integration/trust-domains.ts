import { webcrypto } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { z } from 'zod';
import { API_VERSION } from '../../src/api/group.ts';
import { type TrustDomain, trustDomainKind, trustDomainSchema } from '../../src/api/trustdomain.ts';
import { ANNOTATION_UPSTREAM_FOR, JOURNAL_KEY } from '../../src/api/well-known.ts';
import { journalSecretName } from '../../src/core/authorities/journal-codec.ts';
import { importX509SigningKey } from '../../src/core/authorities/keys.ts';
import {
  type Journal,
  type JwtAuthority,
  journalSchema,
  type X509Authority,
} from '../../src/core/authorities/model.ts';
import { encodePem } from '../../src/core/authorities/pem.ts';
import { x509 } from '../../src/core/authorities/x509.ts';
import { KubeApiError } from '../../src/kube/errors.ts';
import { collectionPath, coreResources, objectPath, trustlineResource } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import { runOpenssl } from '../openssl.ts';
import { waitFor } from './support.ts';

/** Shared steps of the TrustDomain integration tests: objects, journals, bundles, and openssl. */

export const trustDomains = trustlineResource(trustDomainKind);

const configMapSchema = z.object({
  metadata: z.looseObject({
    name: z.string(),
    resourceVersion: z.string(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
  data: z.record(z.string(), z.string()).optional(),
});
const secretSchema = z.object({
  metadata: z.looseObject({ resourceVersion: z.string() }),
  data: z.record(z.string(), z.string()),
});

export async function createNamespace(client: RestClient, name: string, labels: Record<string, string> = {}) {
  await client.request('POST', collectionPath(coreResources.namespaces), {
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } },
  });
}

export async function createTrustDomain(client: RestClient, name: string, spec: Record<string, unknown>) {
  await client.request('POST', collectionPath(trustDomains), {
    body: { apiVersion: API_VERSION, kind: 'TrustDomain', metadata: { name }, spec },
  });
}

export async function readTrustDomain(client: RestClient, name: string): Promise<TrustDomain> {
  return trustDomainSchema.parse(await client.request('GET', objectPath(trustDomains, name)));
}

async function orUndefined<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) return undefined;
    throw error;
  }
}

export const readConfigMap = (client: RestClient, namespace: string, name: string) =>
  orUndefined(async () =>
    configMapSchema.parse(await client.request('GET', objectPath(coreResources.configMaps, name, namespace))),
  );

/** The journal as the operator wrote it, with the Secret's resourceVersion. */
export async function readJournal(
  client: RestClient,
  namespace: string,
  trustDomain: string,
): Promise<{ journal: Journal; resourceVersion: string } | undefined> {
  const secret = await orUndefined(async () =>
    secretSchema.parse(
      await client.request(
        'GET',
        objectPath(coreResources.secrets, journalSecretName(trustDomain), namespace),
      ),
    ),
  );
  if (!secret) return undefined;
  const text = Buffer.from(secret.data[JOURNAL_KEY] ?? '', 'base64').toString('utf8');
  return { journal: journalSchema.parse(JSON.parse(text)), resourceVersion: secret.metadata.resourceVersion };
}

/** Waits until the TrustDomain reports Ready with the given status and reason for its current generation. */
export function waitForReady(client: RestClient, name: string, status: 'True' | 'False', reason?: string) {
  return waitFor(`TrustDomain ${name} Ready=${status}${reason ? ` (${reason})` : ''}`, async () => {
    const object = await readTrustDomain(client, name);
    const ready = object.status?.conditions?.find((condition) => condition.type === 'Ready');
    return object.status?.observedGeneration === object.metadata.generation &&
      ready?.status === status &&
      (reason === undefined || ready.reason === reason)
      ? object
      : undefined;
  });
}

export const activeAuthority = (journal: Journal, type: 'X509' | 'JWT') => {
  const active = journal.authorities.filter(
    (authority) => authority.type === type && authority.state === 'Active',
  );
  expect(active, `exactly one active ${type} authority`).toHaveLength(1);
  return active[0];
};

export const activeX509 = (journal: Journal): X509Authority => {
  const active = activeAuthority(journal, 'X509');
  if (active?.type !== 'X509') throw new Error('no active X.509 authority');
  return active;
};

export const activeJwt = (journal: Journal): JwtAuthority => {
  const active = activeAuthority(journal, 'JWT');
  if (active?.type !== 'JWT') throw new Error('no active JWT authority');
  return active;
};

/** A workload certificate signed by an authority, as an SVID would be: what relying parties verify. */
export async function signLeaf(authority: X509Authority, trustDomain: string): Promise<string> {
  const signer = importX509SigningKey(authority.privateKey);
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]);
  const issuer = new x509.X509Certificate(authority.certificate);
  const now = Date.now();
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: '01',
    subject: 'O=Test Workload',
    issuer: issuer.subject,
    notBefore: new Date(now - 10_000),
    notAfter: new Date(Math.min(now + 600_000, Date.parse(authority.notAfter))),
    publicKey: keys.publicKey,
    signingKey: signer.key,
    signingAlgorithm: signer.algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.SubjectAlternativeNameExtension([
        { type: 'url', value: `spiffe://${trustDomain}/test/workload` },
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(issuer, false),
    ],
  });
  return leaf.toString('pem');
}

/** Runs `openssl verify`; a machine without openssl fails the test with what to install. */
export async function opensslVerify(files: {
  roots: string;
  untrusted?: string;
  leaf: string;
}): Promise<{ ok: boolean; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'trustline-verify-'));
  const path = (name: string) => join(dir, name);
  await writeFile(path('roots.pem'), files.roots);
  await writeFile(path('leaf.pem'), files.leaf);
  const args = ['verify', '-CAfile', path('roots.pem')];
  if (files.untrusted !== undefined) {
    await writeFile(path('untrusted.pem'), files.untrusted);
    args.push('-untrusted', path('untrusted.pem'));
  }
  args.push(path('leaf.pem'));
  return runOpenssl(args);
}

/** Deletes TrustDomains a test created and waits until they are gone, finalizers included. */
export async function deleteTrustDomains(client: RestClient, names: readonly string[]) {
  for (const name of names) {
    await orUndefined(() => client.request('DELETE', objectPath(trustDomains, name)));
  }
  for (const name of names) {
    await waitFor(`TrustDomain ${name} to be deleted`, async () =>
      (await orUndefined(() => client.request('GET', objectPath(trustDomains, name)))) === undefined
        ? true
        : undefined,
    );
  }
}

/** A CA certificate and its PKCS#8 key, self-signed or signed by `issuer`: an upstream CA's parts. */
export async function makeCA(
  subject: string,
  issuer?: { certificate: string; key: string },
): Promise<{ certificate: string; key: string }> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]);
  const signer = issuer
    ? importX509SigningKey(issuer.key)
    : { key: keys.privateKey, algorithm: { name: 'ECDSA', hash: 'SHA-256' } };
  const now = Date.now();
  const issuerCertificate = issuer ? new x509.X509Certificate(issuer.certificate) : undefined;
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: webcrypto
      .getRandomValues(new Uint8Array(8))
      .reduce((hex, byte) => hex + byte.toString(16).padStart(2, '0'), '7'),
    subject,
    issuer: issuerCertificate?.subject ?? subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 24 * 3_600_000),
    publicKey: keys.publicKey,
    signingKey: signer.key,
    signingAlgorithm: signer.algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ...(issuerCertificate
        ? [await x509.AuthorityKeyIdentifierExtension.create(issuerCertificate, false)]
        : []),
    ],
  });
  const key = encodePem(
    'PRIVATE KEY',
    new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
  );
  return { certificate: certificate.toString('pem'), key };
}

/** Creates or replaces a Secret in `namespace` with the given string data and annotations. */
export async function putSecret(
  client: RestClient,
  namespace: string,
  name: string,
  data: Record<string, string>,
  annotations: Record<string, string> = {},
) {
  const body = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, annotations },
    stringData: data,
  };
  try {
    await client.request('POST', collectionPath(coreResources.secrets, namespace), { body });
  } catch (error) {
    if (!(error instanceof KubeApiError && error.status === 409)) throw error;
    await client.request('PUT', objectPath(coreResources.secrets, name, namespace), {
      body: { ...body, data: {} },
    });
  }
}

/** Creates or replaces an upstream CA Secret that the TrustDomain objects named in `boundTo` may use. */
export const putUpstreamSecret = (
  client: RestClient,
  namespace: string,
  name: string,
  boundTo: string,
  data: Record<string, string>,
) => putSecret(client, namespace, name, data, { [ANNOTATION_UPSTREAM_FOR]: boundTo });
