import { describe, expect, it } from 'vitest';
import {
  shareValues,
  slimConfigMap,
  slimSvidSecret,
  withoutManagedFields,
} from '../../src/controllers/cache-transforms.ts';
import { unchanged } from '../../src/kube/apply.ts';
import type { KubeObject } from '../../src/kube/informer.ts';
import { coreResources } from '../../src/kube/resources.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const bundle = () => b64(['-----BEGIN CERTIFICATE-----', 'bundle', '-----END CERTIFICATE-----'].join('\n'));
const leaf = () => b64(['-----BEGIN CERTIFICATE-----', 'leaf', '-----END CERTIFICATE-----'].join('\n'));

const secret = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  type: 'kubernetes.io/tls',
  metadata: {
    name,
    namespace: 'team-a',
    uid: `uid-${name}`,
    resourceVersion: '7',
    annotations: { 'trustline.dev/svid-serial': '01' },
    managedFields: [{ manager: 'trustline', operation: 'Apply', fieldsV1: { 'f:data': {} } }],
  },
  data: { 'tls.crt': leaf(), 'svid.pem': leaf(), 'ca.crt': bundle(), 'svid_bundle.pem': bundle() },
});

describe('what the caches keep', () => {
  it('drops managedFields and keeps the rest of the metadata', () => {
    const slim = withoutManagedFields(secret('a'));
    expect(slim.metadata).toEqual({
      name: 'a',
      namespace: 'team-a',
      uid: 'uid-a',
      resourceVersion: '7',
      annotations: { 'trustline.dev/svid-serial': '01' },
    });
    expect(slim.data).toEqual(secret('a').data);
  });

  it('keeps an SVID Secret whole but for managedFields', () => {
    const slim = slimSvidSecret(secret('a'));
    const { managedFields: _dropped, ...metadata } = secret('a').metadata;
    expect(slim).toEqual({ ...secret('a'), metadata });
  });

  it('keeps a bundle ConfigMap whole but for managedFields', () => {
    const configMap = {
      metadata: { name: 'trust-bundle', namespace: 'team-a', managedFields: [{ manager: 'trustline' }] },
      data: { 'bundle.pem': bundle(), 'jwks.json': '{"keys":[]}' },
    };
    expect(slimConfigMap(configMap)).toEqual({
      metadata: { name: 'trust-bundle', namespace: 'team-a' },
      data: configMap.data,
    });
  });

  // Which string a value holds cannot be seen from JS; that bundles and copies are held once shows in the heap.
  it('keeps every value as it was', () => {
    const data = { 'tls.crt': 'x', 'svid.pem': 'x', 'tls.key': 'y', 'ca.crt': 'z', jwt: 'x' };
    expect(shareValues(data)).toEqual(data);
    expect(shareValues(data, () => true)).toEqual(data);
  });

  it('leaves the writer deciding as on the whole Secret: same content unchanged, an edit of data not', () => {
    const { apiVersion: _a, kind: _k, ...cached } = secret('a');
    const target = (data: Record<string, string>) => ({
      resource: coreResources.secrets,
      manifest: {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/tls',
        metadata: { name: 'a', namespace: 'team-a', annotations: { 'trustline.dev/svid-serial': '01' } },
        data,
      },
      owns: () => true,
      removable: { data: true },
    });
    const wanted = { 'tls.crt': leaf(), 'svid.pem': leaf(), 'ca.crt': bundle(), 'svid_bundle.pem': bundle() };
    expect(unchanged(target(wanted), slimSvidSecret(cached))).toBe(true);
    expect(unchanged(target({ ...wanted, 'tls.crt': b64('edited') }), slimSvidSecret(cached))).toBe(false);
  });
});
