import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ANNOTATION_SVID_AUTHORITY_ID } from '../../src/api/well-known.ts';
import { ConfirmedSvids } from '../../src/controllers/confirmed-svids.ts';
import { RevocationWaker } from '../../src/controllers/revocation-waker.ts';
import { svidsBySigner } from '../../src/controllers/svid-inventory.ts';
import { emptyJournal, type Journal } from '../../src/core/authorities/model.ts';
import { type KubeObject, objectKey } from '../../src/kube/informer.ts';

/** A cache in memory that, like an informer, tells its subscriber of a change before it holds it. */
class FakeCache {
  readonly objects = new Map<string, KubeObject>();
  onChange: (change: 'added' | 'updated' | 'deleted', object: KubeObject) => void = () => {};
  put(object: KubeObject): void {
    const change = this.objects.has(objectKey(object)) ? 'updated' : 'added';
    this.onChange(change, object);
    this.objects.set(objectKey(object), object);
  }
  remove(object: KubeObject): void {
    this.onChange('deleted', object);
    this.objects.delete(objectKey(object));
  }
  get = (key: string) => this.objects.get(key);
  list = () => [...this.objects.values()];
  byNamespace = (namespace: string) => this.list().filter((o) => o.metadata.namespace === namespace);
}

const entry = (name: string): KubeObject => ({
  apiVersion: 'trustline.dev/v1alpha1',
  kind: 'RegistrationEntry',
  metadata: { name, namespace: 'shop', uid: `uid-${name}` },
  spec: { trustDomainRef: { name: 'example' }, secret: { name: `${name}-svid` } },
});

/** The entry's Secret at a version, holding an X.509-SVID of `signer`. */
const secret = (name: string, resourceVersion: string, signer: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: {
    name: `${name}-svid`,
    namespace: 'shop',
    uid: `secret-${name}`,
    resourceVersion,
    annotations: { [ANNOTATION_SVID_AUTHORITY_ID]: signer },
    ownerReferences: [
      { apiVersion: 'trustline.dev/v1alpha1', kind: 'RegistrationEntry', name, uid: `uid-${name}` },
    ],
  },
  data: { 'tls.crt': 'Y2VydA==' },
});

function setUp(names: readonly string[]) {
  const entries = new FakeCache();
  const secrets = new FakeCache();
  const confirmed = new ConfirmedSvids((namespace) => (namespace === 'shop' ? secrets : undefined));
  secrets.onChange = confirmed.observe;
  for (const name of names) {
    entries.put(entry(name));
    secrets.put(secret(name, '5', 'old'));
  }
  const count = async () =>
    Object.fromEntries((await svidsBySigner(entries, confirmed.caches, 'example')).reissuable);
  return { secrets, confirmed, count };
}

describe('revocation counts from the writes the apiserver confirmed', () => {
  it('counts an SVID re-issued while the cache still shows the old one', async () => {
    const world = setUp(['cart']);
    expect(await world.count()).toEqual({ old: 1 });
    world.confirmed.confirm(secret('cart', '9', 'new'));
    expect(await world.count()).toEqual({ new: 1 });
    // The cache catches up: it shows the same, and the confirmed write is no longer kept.
    world.secrets.put(secret('cart', '9', 'new'));
    expect(await world.count()).toEqual({ new: 1 });
  });

  it('keeps the last write while the echo of an earlier one of Trustline arrives', async () => {
    const world = setUp(['cart']);
    world.confirmed.confirm(secret('cart', '7', 'old'));
    world.confirmed.confirm(secret('cart', '9', 'new'));
    world.secrets.put(secret('cart', '7', 'old'));
    expect(await world.count()).toEqual({ new: 1 });
  });

  it("sees a tenant's edit: a version Trustline did not write replaces what was confirmed", async () => {
    const world = setUp(['cart']);
    world.confirmed.confirm(secret('cart', '9', 'new'));
    world.secrets.put(secret('cart', '12', 'old'));
    expect(await world.count()).toEqual({ old: 1 });
  });

  it('counts a Secret deleted after the write as gone', async () => {
    const world = setUp(['cart']);
    world.confirmed.confirm(secret('cart', '9', 'new'));
    world.secrets.remove(secret('cart', '9', 'new'));
    expect(await world.count()).toEqual({});
  });

  it('keeps nothing when the watch event came before the response', async () => {
    const world = setUp(['cart']);
    world.secrets.put(secret('cart', '9', 'new'));
    world.confirmed.confirm(secret('cart', '9', 'new'));
    // Kept, the write would hide what the cache shows later until some event retired it.
    world.secrets.objects.set('shop/cart-svid', secret('cart', '12', 'old'));
    expect(await world.count()).toEqual({ old: 1 });
  });

  it('finds no SVID of the revoked key left when every re-issue is confirmed and the cache trails for some', async () => {
    // The 10,000-entry run: 11 Secrets held SVIDs of the replacement, the cache still the old ones.
    const names = Array.from({ length: 40 }, (_, i) => `workload-${i}`);
    const world = setUp(names);
    for (const [i, name] of names.entries()) {
      const written = secret(name, String(100 + i), 'new');
      world.confirmed.confirm(written);
      if (i >= 11) world.secrets.put(written);
    }
    expect(await world.count()).toEqual({ new: 40 });
  });
});

describe('waking a revocation when its last re-issue is confirmed', () => {
  const journal: Journal = {
    ...emptyJournal('example.org'),
    revocations: [
      {
        requestedBy: 'leaked',
        kind: 'X509',
        id: 'old',
        reason: 'KeyCompromise',
        gracePeriodMs: 0,
        taintedIds: ['old'],
        rotated: true,
        taintedAt: '2030-06-01T12:00:00.000Z',
        affectedSVIDs: 3,
      },
    ],
  };

  it('wakes the TrustDomain once, after the write of the last SVID still signed by the revoked key', async () => {
    const names = ['a', 'b', 'c'];
    const entries = new FakeCache();
    const secrets = new FakeCache();
    const trustDomains = new FakeCache();
    trustDomains.put({
      apiVersion: 'trustline.dev/v1alpha1',
      kind: 'TrustDomain',
      metadata: { name: 'example' },
      spec: { trustDomain: 'example.org' },
    });
    const woken: string[] = [];
    let counted = 0;
    const confirmed = new ConfirmedSvids(
      (namespace) => (namespace === 'shop' ? secrets : undefined),
      (written) => waker.written(written),
    );
    const waker = new RevocationWaker({
      view: {
        trustDomains,
        registrationEntries: {
          get: entries.get,
          byNamespace: entries.byNamespace,
          list: () => {
            counted += 1;
            return entries.list();
          },
        },
        keyRevocations: new FakeCache(),
        journals: { get: (name) => (name === 'example.org' ? journal : undefined) },
      },
      svidSecrets: confirmed.caches,
      wake: (secret) => woken.push(objectKey(secret)),
      log: pino({ level: 'silent' }),
    });
    secrets.onChange = confirmed.observe;
    for (const name of names) {
      entries.put(entry(name));
      secrets.put(secret(name, '5', 'old'));
    }
    const settled = async () => {
      for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
    };
    confirmed.confirm(secret('a', '10', 'new'));
    await settled();
    confirmed.confirm(secret('b', '11', 'new'));
    await settled();
    expect(woken).toEqual([]);
    confirmed.confirm(secret('c', '12', 'new'));
    await settled();
    expect(woken).toEqual(['shop/c-svid']);
    // Counted when the first write came and when the last should have been the last: not per write.
    expect(counted).toBe(2);
  });
});
