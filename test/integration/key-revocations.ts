import { X509Certificate } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { expect } from 'vitest';
import { z } from 'zod';
import { API_VERSION } from '../../src/api/group.ts';
import { type KeyRevocation, keyRevocationKind, keyRevocationSchema } from '../../src/api/keyrevocation.ts';
import { ANNOTATION_SVID_AUTHORITY_ID, BUNDLE_JWKS_KEY, BUNDLE_PEM_KEY } from '../../src/api/well-known.ts';
import { collectionPath, coreResources, objectPath, trustlineResource } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import { createEntry, opensslVerifyStrict, readSecret } from './registration-entries.ts';
import { waitFor } from './support.ts';
import { readConfigMap } from './trust-domains.ts';

/** Shared steps of the KeyRevocation integration tests: objects, workloads, and the cut-off checks. */

export const keyRevocations = trustlineResource(keyRevocationKind);

export async function createKeyRevocation(
  client: RestClient,
  name: string,
  spec: {
    trustDomainRef: { name: string };
    authority: { kind: 'X509' | 'UpstreamX509' | 'JWT'; id: string };
    reason: string;
    gracePeriod?: string;
    reissueTimeout?: string;
  },
) {
  await client.request('POST', collectionPath(keyRevocations), {
    body: { apiVersion: API_VERSION, kind: keyRevocationKind.kind, metadata: { name }, spec },
  });
}

export const readKeyRevocation = async (client: RestClient, name: string): Promise<KeyRevocation> =>
  keyRevocationSchema.parse(await client.request('GET', objectPath(keyRevocations, name)));

/** Waits for a KeyRevocation's phase and, when given, its Ready reason. */
export function waitForRevocation(
  client: RestClient,
  name: string,
  phase: string,
  reason?: string,
  timeoutMs = 120_000,
) {
  return waitFor(
    `KeyRevocation ${name} phase ${phase}${reason ? ` (${reason})` : ''}`,
    async () => {
      const object = await readKeyRevocation(client, name);
      const ready = object.status?.conditions?.find((condition) => condition.type === 'Ready');
      return object.status?.phase === phase && (reason === undefined || ready?.reason === reason)
        ? object
        : undefined;
    },
    timeoutMs,
  );
}

/** The Ready message of a KeyRevocation. */
export const readyMessage = (object: KeyRevocation): string =>
  object.status?.conditions?.find((condition) => condition.type === 'Ready')?.message ?? '';

export interface Workload {
  namespace: string;
  secret: string;
}

/** `perNamespace` entries in each namespace, each with an X.509-SVID and one JWT-SVID. */
export async function createWorkloads(
  client: RestClient,
  trustDomainObject: string,
  namespaces: readonly string[],
  perNamespace: number,
): Promise<Workload[]> {
  const workloads = namespaces.flatMap((namespace) =>
    Array.from({ length: perNamespace }, (_, i) => ({ namespace, name: `${trustDomainObject}-w${i}` })),
  );
  await inBatches(workloads, 25, ({ namespace, name }) =>
    createEntry(client, namespace, name, {
      trustDomainRef: { name: trustDomainObject },
      spiffeIDPath: `/ns/${namespace}/sa/${name}`,
      secret: { name: `${name}-svid` },
      jwtSVIDs: [{ key: 'token', audiences: ['relying-party'] }],
    }),
  );
  return workloads.map(({ namespace, name }) => ({ namespace, secret: `${name}-svid` }));
}

async function inBatches<T, R>(
  items: readonly T[],
  size: number,
  run: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size) {
    results.push(...(await Promise.all(items.slice(i, i + size).map(run))));
  }
  return results;
}

const certificateBlocks = (pem: string): string[] =>
  pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];

const derBase64 = (pem: string) => new X509Certificate(pem).raw.toString('base64');

/** Whether a PEM document holds the certificate, however its blocks are wrapped. */
export const holdsCertificate = (text: string, certificate: string): boolean =>
  certificateBlocks(text).map(derBase64).includes(derBase64(certificate));

/** What identifies a key wherever it is published: its certificate, its public point, its kid. */
export interface PublishedKey {
  /** X.509 authorities and upstream roots: the certificate, PEM. */
  certificate?: string;
  /** The base64url x coordinate (EC) or modulus (RSA) of the public key. */
  publicMember: string;
  /** JWT keys: the kid. */
  kid?: string;
}

export const publishedKeyOfCertificate = (pem: string): PublishedKey => {
  const jwk = new X509Certificate(pem).publicKey.export({ format: 'jwk' });
  return { certificate: pem, publicMember: String(jwk.x ?? jwk.n) };
};

/** Fails with what still carries the key, in any of the documents a relying party reads. */
export function expectNotPublished(documents: Record<string, string>, key: PublishedKey, where: string) {
  for (const [name, text] of Object.entries(documents)) {
    if (name.endsWith('.pem')) {
      const ders = certificateBlocks(text).map(derBase64);
      if (key.certificate)
        expect(ders, `${where} ${name} still holds the certificate`).not.toContain(
          derBase64(key.certificate),
        );
      continue;
    }
    if (key.certificate)
      expect(text, `${where} ${name} still holds the certificate`).not.toContain(derBase64(key.certificate));
    expect(text, `${where} ${name} still holds the public key`).not.toContain(key.publicMember);
    if (key.kid) expect(text, `${where} ${name} still names kid ${key.kid}`).not.toContain(`"${key.kid}"`);
  }
}

/** The bundle ConfigMap of every namespace, once each holds the same bundle.pem. */
export async function publishedBundles(client: RestClient, namespaces: readonly string[], configMap: string) {
  return waitFor('every namespace to hold the same bundle', async () => {
    const copies = await Promise.all(
      namespaces.map((namespace) => readConfigMap(client, namespace, configMap)),
    );
    const data = copies.map((copy) => copy?.data ?? {});
    const [first] = data;
    return first &&
      data.every(
        (d) => d[BUNDLE_PEM_KEY] === first[BUNDLE_PEM_KEY] && d[BUNDLE_JWKS_KEY] === first[BUNDLE_JWKS_KEY],
      )
      ? data
      : undefined;
  });
}

/**
 * Every workload Secret, once each carries `bundlePem` as its ca.crt: then its X.509-SVID verifies
 * against that bundle and was not signed by any of `cutIds`, and its JWT-SVID verifies against `jwks`
 * and was not signed by any of them either.
 */
export async function expectWorkloadsMovedOn(
  client: RestClient,
  workloads: readonly Workload[],
  { bundlePem, jwks, cutIds }: { bundlePem: string; jwks: string; cutIds: readonly string[] },
) {
  const keySet = createLocalJWKSet(JSON.parse(jwks));
  const secrets = await waitFor(
    `all ${workloads.length} workload Secrets to carry the new bundle`,
    async () => {
      const read = await inBatches(workloads, 50, ({ namespace, secret }) =>
        readSecret(client, namespace, secret),
      );
      return read.every((secret) => secret?.data['ca.crt'] === bundlePem) ? read : undefined;
    },
    120_000,
  );
  await inBatches(secrets, 8, async (secret) => {
    if (!secret) throw new Error('a workload Secret is gone');
    const signer = secret.metadata.annotations?.[ANNOTATION_SVID_AUTHORITY_ID] ?? '';
    expect(cutIds).not.toContain(signer);
    const verified = await opensslVerifyStrict(secret.data, 'sslclient');
    expect(verified.ok, verified.output).toBe(true);
    const token = secret.data.token ?? '';
    expect(cutIds).not.toContain(decodeProtectedHeader(token).kid);
    await jwtVerify(token, keySet, { audience: 'relying-party' });
  });
}

/** An SVID and JWT-SVID as issued now, to try against the bundle after the revocation. */
export async function captureSvid(client: RestClient, workload: Workload) {
  const secret = await readSecret(client, workload.namespace, workload.secret);
  if (!secret) throw new Error(`Secret ${workload.namespace}/${workload.secret} is missing`);
  return { data: secret.data, token: secret.data.token ?? '' };
}

/** Whether a JWT verifies against a JWKS document. */
export async function jwtVerifies(token: string, jwks: string): Promise<boolean> {
  try {
    await jwtVerify(token, createLocalJWKSet(JSON.parse(jwks)), { audience: 'relying-party' });
    return true;
  } catch {
    return false;
  }
}

const eventListSchema = z.object({
  items: z.array(z.object({ reason: z.string().optional(), message: z.string().optional() })),
});

/** Waits until the Events of a cluster-scoped object (they go to `default`) include every reason. */
export function waitForEvents(client: RestClient, kind: string, name: string, reasons: readonly string[]) {
  return waitFor(`${kind} ${name} events ${reasons.join(', ')}`, async () => {
    const list = eventListSchema.parse(
      await client.request('GET', collectionPath(coreResources.events, 'default'), {
        query: { fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}` },
      }),
    );
    const seen = new Set(list.items.map((event) => event.reason));
    return reasons.every((reason) => seen.has(reason)) ? seen : undefined;
  });
}
