import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { objectMetaSchema } from '../../src/api/meta.ts';
import { publishClusterTrustBundle } from '../../src/controllers/trustdomain/cluster-trust-bundles.ts';
import { applyDerived, type DerivedObject } from '../../src/kube/apply.ts';
import { ForeignObjectError } from '../../src/kube/errors.ts';
import type { KubeObject } from '../../src/kube/informer.ts';
import { collectionPath, coreResources, objectPath } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import { CTB_V1 } from './pod-certificates.ts';
import { restClient, uniqueName } from './support.ts';
import { makeCA } from './trust-domains.ts';

const configMapSchema = z.object({
  metadata: objectMetaSchema,
  data: z.record(z.string(), z.string()).optional(),
});

describe('the writer of derived objects on the real apiserver', () => {
  let client: RestClient;
  const namespace = uniqueName('apply-writer');
  const path = (name: string) => objectPath(coreResources.configMaps, name, namespace);
  const read = async (name: string) => configMapSchema.parse(await client.request('GET', path(name)));

  /** A ConfigMap Trustline would derive: its label marks it as Trustline's. */
  const derived = (name: string, data: Record<string, string>): DerivedObject => ({
    resource: coreResources.configMaps,
    manifest: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'trustline' } },
      data,
    },
    owns: (object) => object.metadata.labels?.['app.kubernetes.io/managed-by'] === 'trustline',
    removable: { data: true },
  });
  /** What a tenant does with kubectl: a request under a field manager of its own. */
  const tenantCreate = (name: string, data: Record<string, string>) =>
    client.request('POST', collectionPath(coreResources.configMaps, namespace), {
      query: { fieldManager: 'kubectl-create' },
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data },
    });

  beforeAll(async () => {
    client = await restClient();
    await client.request('POST', collectionPath(coreResources.namespaces), {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    });
  });
  afterAll(async () => {
    await client.request('DELETE', objectPath(coreResources.namespaces, namespace));
    await client.close();
  });

  it('reports a same-named object a tenant created before Trustline and leaves it as it was', async () => {
    const name = uniqueName('raced');
    await tenantCreate(name, { mine: 'tenant' });
    // The cache has not seen the tenant's object: Trustline believes the name free.
    const outcome = await applyDerived(client, derived(name, { 'bundle.pem': 'roots' }), undefined);
    expect(outcome).toEqual({ kind: 'foreign' });
    expect((await read(name)).data).toEqual({ mine: 'tenant' });
  });

  it("refuses to write over a tenant's object made again under the name of Trustline's deleted copy", async () => {
    const name = uniqueName('recreated');
    const target = derived(name, { 'bundle.pem': 'roots' });
    expect(await applyDerived(client, target, undefined)).toEqual({ kind: 'written', replaced: '' });
    const cached = await read(name);
    await client.request('DELETE', path(name));
    await tenantCreate(name, { mine: 'tenant' });
    // The cache still holds Trustline's copy; the write is under its uid, which no longer exists.
    const outcome = await applyDerived(client, derived(name, { 'bundle.pem': 'new roots' }), cached);
    expect(outcome).toEqual({ kind: 'foreign' });
    expect((await read(name)).data).toEqual({ mine: 'tenant' });
  });

  it("puts back a tenant's edit of Trustline's data and keeps the label the tenant added", async () => {
    const name = uniqueName('edited');
    const target = derived(name, { 'bundle.pem': 'roots' });
    await applyDerived(client, target, undefined);
    await client.request('PATCH', path(name), {
      query: { fieldManager: 'kubectl-edit' },
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels: { team: 'payments' } }, data: { 'bundle.pem': 'forged roots' } },
    });
    const edited = await read(name);
    const outcome = await applyDerived(client, target, edited);
    expect(outcome).toEqual({ kind: 'written', replaced: edited.metadata.resourceVersion });
    const after = await read(name);
    expect(after.data).toEqual({ 'bundle.pem': 'roots' });
    expect(after.metadata.labels).toEqual({ 'app.kubernetes.io/managed-by': 'trustline', team: 'payments' });
  });

  it('takes away keys it no longer sets, also those an earlier version wrote with PUT', async () => {
    const name = uniqueName('stray');
    // As the previous version wrote: a create and a replace, owned by an Update manager.
    await client.request('POST', collectionPath(coreResources.configMaps, namespace), {
      body: derived(name, { 'svid.pem': 'leaf', 'svid_key.pem': 'key', 'bundle.pem': 'roots' }).manifest,
    });
    const outcome = await applyDerived(client, derived(name, { 'bundle.pem': 'roots' }), await read(name));
    expect(outcome.kind).toBe('written');
    expect((await read(name)).data).toEqual({ 'bundle.pem': 'roots' });
  });

  it('sends nothing when the object already holds what Trustline would apply', async () => {
    const name = uniqueName('same');
    const target = derived(name, { 'bundle.pem': 'roots' });
    await applyDerived(client, target, undefined);
    const before = await read(name);
    expect(await applyDerived(client, target, before)).toEqual({ kind: 'unchanged' });
    expect((await read(name)).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it("never overwrites a ClusterTrustBundle of Trustline's name that someone else created, and reports it", async () => {
    const signerName = `trustline.dev/${uniqueName('attacked')}`;
    const name = `${signerName.replace('/', ':')}:spiffe-bundle`;
    const attackerPem = (await makeCA('CN=attacker')).certificate;
    const trustlinePem = (await makeCA('CN=trustline')).certificate;
    await client.request('POST', collectionPath(CTB_V1), {
      body: {
        apiVersion: 'certificates.k8s.io/v1',
        kind: 'ClusterTrustBundle',
        metadata: { name },
        spec: { signerName, trustBundle: attackerPem },
      },
    });
    const ctbSchema = z.object({ spec: z.object({ trustBundle: z.string() }) });
    const readBundle = async () => ctbSchema.parse(await client.request('GET', objectPath(CTB_V1, name)));
    // Trustline's cache has not seen the attacker's bundle, so it goes to create its own.
    const emptyCache = { list: (): KubeObject[] => [], get: (): KubeObject | undefined => undefined };
    const owner = { name: 'example', uid: 'd1a3e9b0-0000-4000-8000-000000000001', signerName };
    try {
      await expect(
        publishClusterTrustBundle(client, CTB_V1, emptyCache, owner, trustlinePem),
      ).rejects.toBeInstanceOf(ForeignObjectError);
      expect((await readBundle()).spec.trustBundle).toBe(attackerPem);
    } finally {
      await client.request('DELETE', objectPath(CTB_V1, name));
    }
  });
});
