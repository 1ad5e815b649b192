import { describe, expect, it } from 'vitest';
import { publishClusterTrustBundle } from '../../src/controllers/trustdomain/cluster-trust-bundles.ts';
import type { Requester } from '../../src/kube/apply.ts';
import { ForeignObjectError, KubeApiError } from '../../src/kube/errors.ts';
import type { KubeObject } from '../../src/kube/informer.ts';

const RESOURCE = {
  group: 'certificates.k8s.io',
  version: 'v1',
  plural: 'clustertrustbundles',
  namespaced: false,
};
const OWNER = { name: 'example', uid: 'td-uid', signerName: 'trustline.io/example' };
const NAME = 'trustline.io:example:spiffe-bundle';
const PEM = '-----BEGIN CERTIFICATE-----\nroots\n-----END CERTIFICATE-----\n';

function fakeClient(...answers: unknown[]): Requester & { methods: string[]; bodies: unknown[] } {
  const methods: string[] = [];
  const bodies: unknown[] = [];
  return {
    methods,
    bodies,
    request: async (method, _path, options = {}) => {
      methods.push(method);
      bodies.push(options.body);
      const answer = answers.shift();
      if (answer instanceof KubeApiError) throw answer;
      return answer;
    },
  };
}

const emptyCache = { list: (): KubeObject[] => [], get: (): KubeObject | undefined => undefined };
const bundle = (labels: Record<string, string>, ownerUid?: string): KubeObject => ({
  metadata: {
    name: NAME,
    uid: 'ctb-uid',
    resourceVersion: '7',
    labels,
    ...(ownerUid
      ? { ownerReferences: [{ apiVersion: 'x', kind: 'TrustDomain', name: 'example', uid: ownerUid }] }
      : {}),
  },
  spec: { signerName: OWNER.signerName, trustBundle: 'attacker roots' },
});

describe('publishClusterTrustBundle', () => {
  it('never writes over a ClusterTrustBundle of its name that someone else created, and reports it', async () => {
    const client = fakeClient(new KubeApiError(409, 'AlreadyExists', 'exists'), bundle({ team: 'attacker' }));
    const published = publishClusterTrustBundle(client, RESOURCE, emptyCache, OWNER, PEM);
    await expect(published).rejects.toBeInstanceOf(ForeignObjectError);
    await expect(published).rejects.toMatchObject({ status: 409, reason: 'AlreadyExists' });
    expect(client.methods).toEqual(['POST', 'GET']);
  });

  it('puts its content back into a copy of its own whose labels were stripped, under its uid', async () => {
    const client = fakeClient(new KubeApiError(409, 'AlreadyExists', 'exists'), bundle({}, OWNER.uid), {});
    expect(await publishClusterTrustBundle(client, RESOURCE, emptyCache, OWNER, PEM)).toBe(1);
    expect(client.methods).toEqual(['POST', 'GET', 'PATCH']);
    expect(client.bodies[2]).toMatchObject({ metadata: { uid: 'ctb-uid' }, spec: { trustBundle: PEM } });
  });
});
