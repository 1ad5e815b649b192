import pino from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { controllers } from '../../src/controllers/definitions.ts';
import { ECHO_TTL_MS, Echoes } from '../../src/controllers/echoes.ts';
import { RegistrationEntryReconciler } from '../../src/controllers/registrationentry/reconciler.ts';
import { Router } from '../../src/controllers/router.ts';
import { SignerCache } from '../../src/controllers/signer-cache.ts';
import type { Journal } from '../../src/core/authorities/model.ts';
import { type ChangeHandler, type KubeObject, objectKey } from '../../src/kube/informer.ts';
import { activeJournal } from '../fixtures/active-journal.ts';

const START = new Date('2030-06-01T12:00:00Z');

/** A cache in memory that tells its subscriber of each change, as an informer does. */
class FakeCache {
  readonly objects = new Map<string, KubeObject>();
  handler: ChangeHandler = () => {};
  put(object: KubeObject): void {
    const known = this.objects.has(objectKey(object));
    this.objects.set(objectKey(object), object);
    this.handler(known ? 'updated' : 'added', object);
  }
  get = (key: string) => this.objects.get(key);
  list = () => [...this.objects.values()];
  byNamespace = (namespace: string) => this.list().filter((o) => o.metadata.namespace === namespace);
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

const hasCertificate = (secret: KubeObject | undefined) =>
  isRecord(secret?.data) && typeof secret.data['tls.crt'] === 'string';

let journal: Journal;

beforeAll(async () => {
  journal = await activeJournal(START);
});

/**
 * An entry controller behind the router, over an apiserver in memory whose writes come back as watch
 * events a moment after their response, as they do from a real one.
 */
function setUp(echoFirst: boolean, secretEchoMs = 5) {
  const entries = new FakeCache();
  const secrets = new FakeCache();
  const trustDomains = new FakeCache();
  const namespaces = new FakeCache();
  let version = 100;
  // A watch event may even come before the response to the write it echoes.
  const land = (cache: FakeCache, object: KubeObject, ms = 5) =>
    echoFirst ? cache.put(object) : setTimeout(() => cache.put(object), ms);
  const client = {
    request: async (method: string, path: string, options: { body?: unknown } = {}): Promise<unknown> => {
      const body = options.body;
      version += 1;
      if (path.endsWith('/status') && isRecord(body)) {
        const entry = entries.get('shop/cart');
        if (!entry) return {};
        const written = {
          ...entry,
          status: body.status,
          metadata: { ...entry.metadata, resourceVersion: String(version) },
        };
        land(entries, written);
        return written;
      }
      if (method !== 'GET' && isRecord(body) && isRecord(body.metadata)) {
        const { uid: _uid, ...metadata } = body.metadata;
        const written = {
          ...body,
          metadata: {
            ...metadata,
            name: 'cart-svid',
            namespace: 'shop',
            uid: 's-1',
            resourceVersion: String(version),
          },
        };
        land(secrets, written, secretEchoMs);
        return written;
      }
      return {};
    },
  };
  namespaces.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', resourceVersion: '1' } });
  trustDomains.put({
    apiVersion: 'trustline.dev/v1alpha1',
    kind: 'TrustDomain',
    metadata: { name: 'example', uid: 'td-1', generation: 1, creationTimestamp: '2030-01-01T00:00:00Z' },
    spec: { trustDomain: 'example.org', svid: { renewalPercentage: 50 } },
  });
  const echoes = new Echoes(() => START.getTime());
  const passes: string[] = [];
  const reconciler = new RegistrationEntryReconciler({
    client,
    entries,
    trustDomains,
    namespaces,
    journals: { get: () => journal, version: () => '1' },
    signers: new SignerCache(),
    clusterDomain: 'cluster.local',
    now: () => START,
    random: () => 0.5,
    metrics: { setSvidExpiry: () => {}, countIssued: () => {}, countRenewalFailure: () => {} },
    audit: { signed: () => {} },
    events: { record: async () => {}, recordRoutine: async () => {} },
    secretCaches: (namespace) => (namespace === 'shop' ? secrets : undefined),
    echoes,
  });
  const router = new Router({
    definitions: controllers,
    reconcilers: { RegistrationEntry: reconciler.reconcile },
    view: {
      trustDomains,
      registrationEntries: entries,
      keyRevocations: new FakeCache(),
      journals: { get: () => journal },
    },
    log: pino({ level: 'silent' }),
    concurrency: 1,
    onReconcile: () => passes.push('RegistrationEntry'),
    onReconcileError: () => {},
    echoes,
  });
  entries.handler = router.handler('registrationEntries');
  secrets.handler = router.handler('svidSecrets');
  router.resume();
  return { entries, secrets, passes, router };
}

const settle = async (world: ReturnType<typeof setUp>) => {
  // Long enough for every echo to land and any pass it asks for to run; the queues are then empty.
  const deadline = Date.now() + 2_000;
  let quiet = 0;
  while (quiet < 10) {
    if (Date.now() > deadline) throw new Error('the queue did not settle');
    await new Promise((resolve) => setTimeout(resolve, 10));
    quiet = world.router.queues.every((queue) => queue.length === 0) ? quiet + 1 : 0;
  }
};

describe('the entry controller and the echoes of its own writes', () => {
  it.each([
    ['after', false],
    ['before', true],
  ])(
    'reconciles a new entry once: its Secret and status events (%s the responses) do not bring it back',
    async (_when, echoFirst) => {
      const world = setUp(echoFirst);
      world.entries.put({
        apiVersion: 'trustline.dev/v1alpha1',
        kind: 'RegistrationEntry',
        metadata: { name: 'cart', namespace: 'shop', uid: 'entry-1', generation: 1, resourceVersion: '10' },
        spec: {
          trustDomainRef: { name: 'example' },
          spiffeIDPath: '/ns/shop/sa/cart',
          x509: { ttl: '4h' },
          secret: { name: 'cart-svid' },
        },
      });
      await settle(world);
      expect(hasCertificate(world.secrets.get('shop/cart-svid'))).toBe(true);
      expect(world.entries.get('shop/cart')?.status).toBeDefined();
      expect(world.passes).toEqual(['RegistrationEntry']);

      // A tenant's edit of the Secret is no echo: the entry looks once more, and puts its SVID back.
      const secret = world.secrets.get('shop/cart-svid');
      if (!secret) throw new Error('no Secret');
      world.secrets.put({ ...secret, data: {}, metadata: { ...secret.metadata, resourceVersion: '900' } });
      await settle(world);
      expect(world.passes).toEqual(['RegistrationEntry', 'RegistrationEntry']);
      expect(hasCertificate(world.secrets.get('shop/cart-svid'))).toBe(true);
    },
  );
});

describe('an entry edited while the echo of its Secret write is on its way', () => {
  it('is brought back by that echo, not by the safety-net timer', async () => {
    const world = setUp(false, 100);
    const spec = {
      trustDomainRef: { name: 'example' },
      spiffeIDPath: '/ns/shop/sa/cart',
      x509: { ttl: '4h' },
      secret: { name: 'cart-svid' },
    };
    const metadata = {
      name: 'cart',
      namespace: 'shop',
      uid: 'entry-1',
      generation: 1,
      resourceVersion: '10',
    };
    world.entries.put({ apiVersion: 'trustline.dev/v1alpha1', kind: 'RegistrationEntry', metadata, spec });
    const deadline = Date.now() + 1_000;
    while (world.entries.get('shop/cart')?.status === undefined) {
      if (Date.now() > deadline) throw new Error('no status');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const current = world.entries.get('shop/cart');
    // The tenant edits the spec: the cache does not show the entry's Secret yet, so this pass waits.
    world.entries.put({
      ...current,
      apiVersion: 'trustline.dev/v1alpha1',
      kind: 'RegistrationEntry',
      metadata: { ...metadata, generation: 2, resourceVersion: '20' },
      spec: { ...spec, x509: { ttl: '2h' } },
    });
    // Well before the two-second safety net, the echo has brought the entry back for its new spec.
    const edited = Date.now();
    const observed = () => {
      const status = world.entries.get('shop/cart')?.status;
      return isRecord(status) ? status.observedGeneration : undefined;
    };
    while (observed() !== 2) {
      if (Date.now() - edited > 1_000)
        throw new Error(`after ${world.passes.length} passes, no status for the edit`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(world.entries.get('shop/cart')?.status).toMatchObject({ observedGeneration: 2 });
    expect(world.passes).toHaveLength(3);
  });
});

describe('Echoes', () => {
  const secret = (resourceVersion: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'cart-svid', namespace: 'shop', resourceVersion },
  });

  it('absorbs the one version written, once, for the controller that wrote it', () => {
    const echoes = new Echoes(() => 0);
    echoes.expect('RegistrationEntry', 'svidSecrets', 'shop/cart-svid', '7');
    expect(echoes.absorbs('TrustDomain', 'svidSecrets', 'updated', secret('7'))).toBe(false);
    expect(echoes.absorbs('RegistrationEntry', 'svidSecrets', 'updated', secret('6'))).toBe(false);
    expect(echoes.absorbs('RegistrationEntry', 'svidSecrets', 'deleted', secret('7'))).toBe(false);
    expect(echoes.absorbs('RegistrationEntry', 'svidSecrets', 'updated', secret('7'))).toBe(true);
    expect(echoes.absorbs('RegistrationEntry', 'svidSecrets', 'updated', secret('7'))).toBe(false);
  });

  it('forgets an echo that never came', () => {
    let now = 0;
    const echoes = new Echoes(() => now);
    echoes.expect('RegistrationEntry', 'svidSecrets', 'shop/cart-svid', '7');
    now = ECHO_TTL_MS;
    expect(echoes.absorbs('RegistrationEntry', 'svidSecrets', 'added', secret('7'))).toBe(false);
  });
});
