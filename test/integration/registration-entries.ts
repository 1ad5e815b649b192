import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { API_VERSION } from '../../src/api/group.ts';
import {
  type RegistrationEntry,
  registrationEntryKind,
  registrationEntrySchema,
} from '../../src/api/registrationentry.ts';
import { KubeApiError } from '../../src/kube/errors.ts';
import { collectionPath, coreResources, objectPath, trustlineResource } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import { runOpenssl } from '../openssl.ts';
import { waitFor } from './support.ts';

/** Shared steps of the RegistrationEntry integration tests. */

export const entries = trustlineResource(registrationEntryKind);

const secretSchema = z.object({
  type: z.string().optional(),
  metadata: z.looseObject({
    resourceVersion: z.string(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    ownerReferences: z.array(z.looseObject({ kind: z.string(), uid: z.string() })).optional(),
  }),
  data: z.record(z.string(), z.string()).optional(),
});

export async function createEntry(
  client: RestClient,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
) {
  await client.request('POST', collectionPath(entries, namespace), {
    body: { apiVersion: API_VERSION, kind: 'RegistrationEntry', metadata: { name }, spec },
  });
}

export async function readEntry(
  client: RestClient,
  namespace: string,
  name: string,
): Promise<RegistrationEntry> {
  return registrationEntrySchema.parse(await client.request('GET', objectPath(entries, name, namespace)));
}

/** Waits for the entry's Ready condition, for its current generation. */
export function waitForEntry(
  client: RestClient,
  namespace: string,
  name: string,
  status: 'True' | 'False',
  reason?: string,
) {
  return waitFor(
    `RegistrationEntry ${namespace}/${name} Ready=${status}${reason ? ` (${reason})` : ''}`,
    async () => {
      const entry = await readEntry(client, namespace, name);
      const ready = entry.status?.conditions?.find((condition) => condition.type === 'Ready');
      return entry.status?.observedGeneration === entry.metadata.generation &&
        ready?.status === status &&
        (reason === undefined || ready.reason === reason)
        ? entry
        : undefined;
    },
  );
}

/** A Secret with its data decoded. */
export async function readSecret(client: RestClient, namespace: string, name: string) {
  try {
    const secret = secretSchema.parse(
      await client.request('GET', objectPath(coreResources.secrets, name, namespace)),
    );
    const data = Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([key, value]) => [
        key,
        Buffer.from(value, 'base64').toString('utf8'),
      ]),
    );
    return { ...secret, data };
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) return undefined;
    throw error;
  }
}

/** `openssl verify -x509_strict -purpose <purpose>` of tls.crt against ca.crt, intermediates untrusted. */
export async function opensslVerifyStrict(
  secret: Record<string, string>,
  purpose: 'sslclient' | 'sslserver',
): Promise<{ ok: boolean; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'trustline-svid-'));
  const blocks =
    (secret['tls.crt'] ?? '').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
  await writeFile(join(dir, 'ca.pem'), secret['ca.crt'] ?? '');
  await writeFile(join(dir, 'leaf.pem'), blocks[0] ?? '');
  await writeFile(join(dir, 'chain.pem'), blocks.slice(1).join(''));
  const args = ['verify', '-x509_strict', '-purpose', purpose, '-CAfile', join(dir, 'ca.pem')];
  if (blocks.length > 1) args.push('-untrusted', join(dir, 'chain.pem'));
  args.push(join(dir, 'leaf.pem'));
  return runOpenssl(args);
}
