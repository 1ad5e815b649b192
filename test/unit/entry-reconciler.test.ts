import { beforeAll, describe, expect, it } from 'vitest';
import type { EntryControllerOptions } from '../../src/controllers/registrationentry/options.ts';
import { RegistrationEntryReconciler } from '../../src/controllers/registrationentry/reconciler.ts';
import { SignerCache } from '../../src/controllers/signer-cache.ts';
import type { Journal } from '../../src/core/authorities/model.ts';
import type { KubeObject } from '../../src/kube/informer.ts';
import type { SigningRecord } from '../../src/observability/audit.ts';
import { activeJournal } from '../fixtures/active-journal.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const START = new Date('2030-06-01T12:00:00Z');
const ENTRY_KEY = 'shop/cart';

/** A cache as the entry controller reads it, held in memory. */
class FakeCache {
  readonly objects = new Map<string, KubeObject>();
  put(object: KubeObject): void {
    const { namespace, name } = object.metadata;
    this.objects.set(namespace === undefined ? name : `${namespace}/${name}`, object);
  }
  get = (key: string) => this.objects.get(key);
  list = () => [...this.objects.values()];
  byNamespace = (namespace: string) => this.list().filter((o) => o.metadata.namespace === namespace);
}

interface Request {
  method: string;
  path: string;
}

/**
 * The apiserver as the entry controller writes to it: Secret writes land in the Secret cache only
 * when `catchUp` is set, so a test can hold the cache at the version it showed before a write.
 */
class FakeClient {
  readonly requests: Request[] = [];
  catchUp = true;
  #version = 0;
  readonly secrets: FakeCache;
  readonly entries: FakeCache;
  constructor(secrets: FakeCache, entries: FakeCache) {
    this.secrets = secrets;
    this.entries = entries;
  }
  request = async (method: string, path: string, options: { body?: unknown } = {}): Promise<unknown> => {
    this.requests.push({ method, path });
    const body = options.body;
    if (path.endsWith('/status') && isObject(body)) {
      const entry = this.entries.get(ENTRY_KEY);
      if (entry) this.entries.put({ ...entry, status: body.status });
      return body;
    }
    if (path.includes('/secrets') && isKubeObject(body)) {
      this.#version += 1;
      const stored = { ...body, metadata: { ...body.metadata, resourceVersion: String(this.#version) } };
      if (this.catchUp) this.secrets.put(stored);
      return stored;
    }
    return {};
  };
  secretWrites = () => this.requests.filter((r) => r.path.includes('/secrets')).length;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;
const isKubeObject = (value: unknown): value is KubeObject =>
  isObject(value) && isObject(value.metadata) && typeof value.metadata.name === 'string';

let journal: Journal;

beforeAll(async () => {
  journal = await activeJournal(START);
});

function setUp(renewalPercentage: number) {
  let now = START;
  const entries = new FakeCache();
  const secrets = new FakeCache();
  const trustDomains = new FakeCache();
  const namespaces = new FakeCache();
  const client = new FakeClient(secrets, entries);
  const signed: SigningRecord[] = [];
  namespaces.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', resourceVersion: '1' } });
  trustDomains.put({
    apiVersion: 'trustline.dev/v1alpha1',
    kind: 'TrustDomain',
    metadata: { name: 'example', uid: 'td-1', generation: 1, creationTimestamp: '2030-01-01T00:00:00Z' },
    spec: { trustDomain: 'example.org', svid: { renewalPercentage } },
  });
  entries.put({
    apiVersion: 'trustline.dev/v1alpha1',
    kind: 'RegistrationEntry',
    metadata: { name: 'cart', namespace: 'shop', uid: 'entry-1', generation: 1 },
    spec: {
      trustDomainRef: { name: 'example' },
      spiffeIDPath: '/ns/shop/sa/cart',
      x509: { ttl: '4h' },
      secret: { name: 'cart-svid' },
      jwtSVIDs: [{ key: 'token', audiences: ['vault'], ttl: '1h' }],
    },
  });
  const options: EntryControllerOptions = {
    client,
    entries,
    trustDomains,
    namespaces,
    journals: { get: () => journal, version: () => '1' },
    signers: new SignerCache(),
    clusterDomain: 'cluster.local',
    now: () => now,
    random: () => 0.5,
    metrics: { setSvidExpiry: () => {}, countIssued: () => {}, countRenewalFailure: () => {} },
    audit: { signed: (record) => signed.push(record) },
    events: { record: async () => {}, recordRoutine: async () => {} },
    secretCaches: (namespace) => (namespace === 'shop' ? secrets : undefined),
  };
  const reconciler = new RegistrationEntryReconciler(options);
  return {
    client,
    signed,
    entries,
    reconcile: () => reconciler.reconcile(ENTRY_KEY),
    advance: (ms: number) => {
      now = new Date(now.getTime() + ms);
    },
  };
}

const requeueOf = (result: unknown): number =>
  isObject(result) && typeof result.requeueAfterMs === 'number' ? result.requeueAfterMs : Number.NaN;

describe('the RegistrationEntry reconciler on in-memory caches', () => {
  it('issues a new entry once, writes its status once, and looks again when the first SVID is due', async () => {
    const world = setUp(50);
    const result = await world.reconcile();
    expect(world.signed.map((record) => record.operation)).toEqual(['x509-svid', 'jwt-svid']);
    expect(world.client.requests.map((r) => r.method)).toEqual(['POST', 'PATCH']);
    // The JWT-SVID (1 h) is due at half its life, before the X.509-SVID (4 h).
    expect(requeueOf(result)).toBe(30 * MINUTE);
    const status = world.entries.get(ENTRY_KEY)?.status;
    expect(isObject(status) && isObject(status.svid) ? status.svid.authorityID : undefined).toBe(
      journal.authorities[0]?.id,
    );
  });

  it('renews a JWT-SVID at 15% of its life with renewalPercentage 10, and never requeues at once without signing', async () => {
    const world = setUp(10);
    expect(requeueOf(await world.reconcile())).toBe(6 * MINUTE);
    world.advance(9 * MINUTE);
    const result = await world.reconcile();
    expect(world.signed.map((record) => record.operation)).toEqual(['x509-svid', 'jwt-svid', 'jwt-svid']);
    expect(requeueOf(result)).toBeGreaterThan(5 * MINUTE);
    // Nothing is due now: a reconcile signs nothing and waits for the renewal.
    const quiet = await world.reconcile();
    expect(world.signed).toHaveLength(3);
    expect(requeueOf(quiet)).toBeGreaterThan(5 * MINUTE);
  });

  it('never signs twice on a stale cache: after a create the cache has not seen, a reconcile waits', async () => {
    const world = setUp(50);
    world.client.catchUp = false;
    await world.reconcile();
    expect(world.signed).toHaveLength(2);
    const again = await world.reconcile();
    expect(world.signed).toHaveLength(2);
    expect(world.client.secretWrites()).toBe(1);
    expect(requeueOf(again)).toBeGreaterThan(0);
  });

  it('never signs twice on a stale cache: after a renewal the cache still shows the old version', async () => {
    const world = setUp(50);
    await world.reconcile();
    world.client.catchUp = false;
    world.advance(40 * MINUTE);
    await world.reconcile();
    expect(world.signed.map((record) => record.operation)).toEqual(['x509-svid', 'jwt-svid', 'jwt-svid']);
    await world.reconcile();
    expect(world.signed).toHaveLength(3);
    expect(world.client.secretWrites()).toBe(2);
  });
});
