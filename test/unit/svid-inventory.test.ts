import { describe, expect, it } from 'vitest';
import { API_VERSION } from '../../src/api/group.ts';
import { ANNOTATION_SVID_AUTHORITY_ID } from '../../src/api/well-known.ts';
import { svidSignersOf, svidsBySigner } from '../../src/controllers/svid-inventory.ts';
import type { KubeObject } from '../../src/kube/informer.ts';

const entry = (name: string, spec: Record<string, unknown>, status?: unknown): KubeObject => ({
  apiVersion: API_VERSION,
  kind: 'RegistrationEntry',
  metadata: { name, namespace: 'payments', uid: `uid-${name}` },
  spec: { trustDomainRef: { name: 'shop' }, spiffeIDPath: `/${name}`, ...spec },
  ...(status === undefined ? {} : { status }),
});

const secret = (name: string, owner: string, extra: Partial<KubeObject> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: {
    name,
    namespace: 'payments',
    annotations: { [ANNOTATION_SVID_AUTHORITY_ID]: 'AA01' },
    ownerReferences: [
      { apiVersion: API_VERSION, kind: 'RegistrationEntry', name: owner, uid: `uid-${owner}` },
    ],
  },
  data: {},
  ...extra,
});

const cache = (objects: KubeObject[]) => ({
  get: (key: string) => objects.find((o) => `${o.metadata.namespace}/${o.metadata.name}` === key),
  list: () => objects,
});

describe('svidSignersOf', () => {
  const entries = cache([
    entry('cart', { secret: { name: 'cart-svid' } }),
    // A Secret of the same name that the entry does not own is no SVID of it.
    entry('stolen', { secret: { name: 'other-svid' } }),
    // podCertificate volumes hold no Secret: the inventory of pod certificates counts them.
    entry('pods', { workloadSelector: { serviceAccountName: 'web' } }),
    entry(
      'frozen',
      { secret: { name: 'frozen-svid' } },
      {
        conditions: [
          { type: 'Ready', status: 'False', reason: 'SecretUnwritable', message: '', lastTransitionTime: '' },
        ],
      },
    ),
    entry('elsewhere', { trustDomainRef: { name: 'other' }, secret: { name: 'elsewhere-svid' } }),
  ]);
  const secrets = cache([
    secret('cart-svid', 'cart'),
    secret('other-svid', 'cart'),
    secret('frozen-svid', 'frozen'),
    secret('elsewhere-svid', 'elsewhere'),
  ]);

  it('reads the signers of the Secrets the TrustDomain object’s entries own, and which ones are unwritable', async () => {
    const found = await svidSignersOf(entries, () => secrets, 'shop');
    expect(found).toEqual([
      { entry: 'payments/cart', signers: ['aa01'], unwritable: false, withdrawnSigners: [] },
      { entry: 'payments/frozen', signers: ['aa01'], unwritable: true, withdrawnSigners: [] },
    ]);
    expect(await svidsBySigner(entries, () => secrets, 'shop')).toEqual({
      reissuable: new Map([['aa01', 1]]),
      unwritable: new Map([['aa01', 1]]),
    });
  });
});
