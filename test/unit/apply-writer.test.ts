import { describe, expect, it } from 'vitest';
import { applyDerived, type DerivedObject, FIELD_MANAGER, type Requester } from '../../src/kube/apply.ts';
import { KubeApiError } from '../../src/kube/errors.ts';
import type { KubeObject } from '../../src/kube/informer.ts';
import { coreResources } from '../../src/kube/resources.ts';
import type { RequestOptions } from '../../src/kube/rest.ts';

interface Sent {
  method: string;
  path: string;
  options: RequestOptions;
}

/** A RestClient that records each request and answers from a script, in order. */
function fakeClient(...answers: (unknown | KubeApiError)[]): Requester & { sent: Sent[] } {
  const sent: Sent[] = [];
  return {
    sent,
    request: async (method, path, options = {}) => {
      sent.push({ method, path, options });
      const answer = answers.shift();
      if (answer instanceof KubeApiError) throw answer;
      return answer;
    },
  };
}

const PATH = '/api/v1/namespaces/team/configmaps/bundle';
const conflict = () => new KubeApiError(409, 'AlreadyExists', 'exists');
const uidImmutable = () => new KubeApiError(422, 'Invalid', 'metadata.uid is immutable', ['metadata.uid']);

const target = (data: Record<string, string>): DerivedObject => ({
  resource: coreResources.configMaps,
  manifest: {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'bundle', namespace: 'team', labels: { owner: 'trustline' } },
    data,
  },
  owns: (object) => object.metadata.labels?.owner === 'trustline',
  removable: { data: true },
});

const object = (
  uid: string,
  data: Record<string, string>,
  labels: Record<string, string> = { owner: 'trustline' },
): KubeObject => ({
  metadata: { name: 'bundle', namespace: 'team', uid, resourceVersion: `rv-${uid}`, labels },
  data,
});

describe('the writer of derived objects', () => {
  it('creates with a create-only POST under its field manager when the cache holds none', async () => {
    const client = fakeClient({});
    expect(await applyDerived(client, target({ a: '1' }), undefined)).toEqual({
      kind: 'written',
      replaced: '',
    });
    expect(client.sent).toEqual([
      {
        method: 'POST',
        path: '/api/v1/namespaces/team/configmaps',
        options: { query: { fieldManager: FIELD_MANAGER }, body: target({ a: '1' }).manifest },
      },
    ]);
  });

  it('sends nothing when the cached object holds what it would apply, whatever else it holds', async () => {
    const client = fakeClient();
    const cached = object('u1', { a: '1' }, { owner: 'trustline', team: 'payments' });
    expect(await applyDerived(client, target({ a: '1' }), cached)).toEqual({ kind: 'unchanged' });
    expect(client.sent).toEqual([]);
  });

  it("applies with force under the cached object's uid when its content differs", async () => {
    const client = fakeClient(object('u1', { a: '2' }));
    const outcome = await applyDerived(client, target({ a: '2' }), object('u1', { a: 'edited' }));
    expect(outcome).toEqual({ kind: 'written', replaced: 'rv-u1' });
    expect(client.sent).toHaveLength(1);
    expect(client.sent[0]).toMatchObject({
      method: 'PATCH',
      path: PATH,
      options: {
        query: { fieldManager: FIELD_MANAGER, force: true },
        contentType: 'application/apply-patch+yaml',
        body: { metadata: { uid: 'u1' }, data: { a: '2' } },
      },
    });
  });

  it('removes keys left after the apply with a JSON patch tested against the same uid', async () => {
    const client = fakeClient(object('u1', { a: '1', 'svid.pem': 'leaf' }), {});
    await applyDerived(client, target({ a: '1' }), object('u1', { a: '1', 'svid.pem': 'leaf' }));
    expect(client.sent[1]).toMatchObject({
      method: 'PATCH',
      path: PATH,
      options: {
        contentType: 'application/json-patch+json',
        body: [
          { op: 'test', path: '/metadata/uid', value: 'u1' },
          { op: 'remove', path: '/data/svid.pem' },
        ],
      },
    });
  });

  it("reports foreign, writing nothing, when the POST meets an object that is not Trustline's", async () => {
    const client = fakeClient(conflict(), object('tenant', { mine: 'x' }, { owner: 'tenant' }));
    expect(await applyDerived(client, target({ a: '1' }), undefined)).toEqual({ kind: 'foreign' });
    expect(client.sent.map(({ method }) => method)).toEqual(['POST', 'GET']);
  });

  it('updates under the uid it read when the POST meets a copy of its own the cache has not seen', async () => {
    const client = fakeClient(conflict(), object('u2', { a: 'old' }), object('u2', { a: '1' }));
    expect(await applyDerived(client, target({ a: '1' }), undefined)).toEqual({
      kind: 'written',
      replaced: 'rv-u2',
    });
    expect(client.sent.map(({ method }) => method)).toEqual(['POST', 'GET', 'PATCH']);
    expect(client.sent[2]?.options.body).toMatchObject({ metadata: { uid: 'u2' } });
  });

  it("reports foreign when the apply under Trustline's uid meets a tenant's object made again", async () => {
    const client = fakeClient(uidImmutable(), object('tenant', { mine: 'x' }, { owner: 'tenant' }));
    expect(await applyDerived(client, target({ a: '2' }), object('u1', { a: '1' }))).toEqual({
      kind: 'foreign',
    });
    expect(client.sent.map(({ method }) => method)).toEqual(['PATCH', 'GET']);
  });

  it('creates again when the object under the cached uid is gone', async () => {
    const gone = new KubeApiError(404, 'NotFound', 'gone');
    const client = fakeClient(conflict(), gone, {});
    expect(await applyDerived(client, target({ a: '2' }), object('u1', { a: '1' }))).toEqual({
      kind: 'written',
      replaced: '',
    });
    expect(client.sent.map(({ method }) => method)).toEqual(['PATCH', 'GET', 'POST']);
  });

  it("never writes over a cached object that is not Trustline's", async () => {
    const client = fakeClient();
    const cached = object('tenant', { mine: 'x' }, { owner: 'tenant' });
    expect(await applyDerived(client, target({ a: '1' }), cached)).toEqual({ kind: 'foreign' });
    expect(client.sent).toEqual([]);
  });

  it('throws a refusal that is not about the uid, such as an immutable Secret', async () => {
    const client = fakeClient(new KubeApiError(422, 'Invalid', 'immutable', ['data']));
    await expect(applyDerived(client, target({ a: '2' }), object('u1', { a: '1' }))).rejects.toThrow(
      'immutable',
    );
  });
});
