import { describe, expect, it } from 'vitest';
import { trustDomainSchema } from '../../src/api/trustdomain.ts';
import { checkNamespaceClaim } from '../../src/controllers/signing-context.ts';
import type { KubeObject } from '../../src/kube/informer.ts';

const trustDomain = trustDomainSchema.parse({
  apiVersion: 'trustline.dev/v1alpha1',
  kind: 'TrustDomain',
  metadata: { name: 'example' },
  spec: {
    trustDomain: 'example.org',
    grants: [{ namespaceSelector: { matchLabels: { tier: 'db' } }, spiffeIDPathPrefixes: ['/shared/db'] }],
  },
});

const namespaces = (objects: KubeObject[]) => ({
  get: (key: string) => objects.find((object) => object.metadata.name === key),
});
const claim = (cached: KubeObject[], namespace: string, spiffeIDPath: string) =>
  checkNamespaceClaim(
    { namespaces: namespaces(cached), clusterDomain: 'cluster.local' },
    namespace,
    trustDomain,
    {
      spiffeIDPath,
      dnsNames: [],
    },
  );

describe('checkNamespaceClaim', () => {
  it('never judges a namespace the cache has not seen: not even its own path is allowed or refused', () => {
    for (const path of ['/ns/shop/api', '/shared/db', '/ns/other/api']) {
      expect(claim([], 'shop', path)).toEqual({
        allowed: false,
        rule: 'NamespaceNotCached',
        message:
          'namespace shop is not in the cache yet; its labels decide the grants, so Trustline looks again shortly',
      });
    }
  });

  it('judges a cached namespace by its labels', () => {
    const labelled = [{ metadata: { name: 'shop', labels: { tier: 'db' } } }];
    expect(claim(labelled, 'shop', '/shared/db')).toEqual({ allowed: true });
    const unlabelled = [{ metadata: { name: 'shop' } }];
    expect(claim(unlabelled, 'shop', '/shared/db')).toMatchObject({ allowed: false, rule: 'PathNotAllowed' });
    expect(claim(unlabelled, 'shop', '/ns/shop/api')).toEqual({ allowed: true });
  });
});
