import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FINALIZER_IN_USE } from '../../src/api/well-known.ts';
import { TrustDomainReconciler } from '../../src/controllers/trustdomain/reconciler.ts';
import type { TrustDomainWrites } from '../../src/controllers/trustdomain/writes.ts';
import { JournalError } from '../../src/core/authorities/journal-codec.ts';
import { emptyJournal, type Journal } from '../../src/core/authorities/model.ts';
import type { DesiredCondition } from '../../src/core/conditions.ts';
import type { Publication } from '../../src/core/publication.ts';
import type { JournalAsStored } from '../../src/core/trustdomain/gate.ts';
import type { PublicationOutcome } from '../../src/core/trustdomain/outcome.ts';
import { KubeApiError } from '../../src/kube/errors.ts';
import { type KubeObject, objectKey } from '../../src/kube/informer.ts';
import type { Failpoint } from '../../src/observability/failpoints.ts';

const T0 = new Date('2030-01-01T00:00:00.000Z');

/** An in-memory cache: what an Informer serves, without an apiserver. */
class FakeCache {
  readonly objects = new Map<string, KubeObject>();
  constructor(...objects: KubeObject[]) {
    for (const object of objects) this.put(object);
  }
  put(object: KubeObject): void {
    this.objects.set(objectKey(object), object);
  }
  get(key: string): KubeObject | undefined {
    return this.objects.get(key);
  }
  list(): KubeObject[] {
    return [...this.objects.values()];
  }
}

/** The apiserver as the controller writes to it: the journal, the copies, status and finalizers. */
class FakeWrites implements TrustDomainWrites {
  stored: JournalAsStored | JournalError = {
    journal: emptyJournal('example.org'),
    resourceVersion: undefined,
  };
  readonly saved: Journal[] = [];
  readonly published: Publication[] = [];
  readonly clusterTrustBundles: string[] = [];
  readonly statuses: { fields: Record<string, unknown>; conditions: readonly DesiredCondition[] }[] = [];
  readonly finalizers: string[][] = [];
  outcome: (publication: Publication) => PublicationOutcome = () => ({ foreign: [], failed: [] });
  clusterTrustBundleError: KubeApiError | undefined;

  readonly #trustDomains: FakeCache;

  constructor(trustDomains: FakeCache) {
    this.#trustDomains = trustDomains;
  }

  async loadJournal(): Promise<JournalAsStored> {
    if (this.stored instanceof JournalError) throw this.stored;
    return this.stored;
  }
  async saveJournal(previous: JournalAsStored, journal: Journal): Promise<void> {
    if (this.stored instanceof JournalError || previous.resourceVersion !== this.stored.resourceVersion)
      throw new KubeApiError(409, 'Conflict', 'the journal changed');
    this.saved.push(journal);
    this.stored = { journal, resourceVersion: String(this.saved.length) };
  }
  async publish(publication: Publication, afterWrite?: () => void): Promise<PublicationOutcome> {
    this.published.push(publication);
    for (const _ of publication.namespaces) afterWrite?.();
    return this.outcome(publication);
  }
  async publishClusterTrustBundle(_trustDomain: unknown, pem: string): Promise<void> {
    if (this.clusterTrustBundleError) throw this.clusterTrustBundleError;
    this.clusterTrustBundles.push(pem);
  }
  async writeStatus(
    object: KubeObject,
    fields: Record<string, unknown>,
    conditions: readonly DesiredCondition[],
  ) {
    this.statuses.push({ fields, conditions });
    this.#trustDomains.put({ ...object, status: { ...fields } });
  }
  async setFinalizers(object: KubeObject, finalizers: string[]): Promise<void> {
    this.finalizers.push(finalizers);
    this.#trustDomains.put({ ...object, metadata: { ...object.metadata, finalizers } });
  }
}

const trustDomainObject = (metadata: Partial<KubeObject['metadata']> = {}): KubeObject => ({
  apiVersion: 'trustline.dev/v1alpha1',
  kind: 'TrustDomain',
  metadata: { name: 'example', uid: 'u-1', generation: 1, finalizers: [FINALIZER_IN_USE], ...metadata },
  spec: { trustDomain: 'example.org', bundle: { namespaceSelector: { matchLabels: { trust: 'yes' } } } },
});

const namespace = (name: string, labels: Record<string, string>, deleting = false): KubeObject => ({
  metadata: { name, labels, ...(deleting ? { deletionTimestamp: T0.toISOString() } : {}) },
});

function setup(trustDomain = trustDomainObject(), entries: KubeObject[] = []) {
  const trustDomains = new FakeCache(trustDomain);
  const keyRevocations = new FakeCache();
  const writes = new FakeWrites(trustDomains);
  const events: { on: string; type: string; reason: string; message: string }[] = [];
  const failpoints: Failpoint[] = [];
  const forgotten: string[] = [];
  const signed: string[] = [];
  const reconciler = new TrustDomainReconciler({
    writes,
    caches: {
      trustDomains,
      registrationEntries: new FakeCache(...entries),
      namespaces: new FakeCache(
        namespace('b', { trust: 'yes' }),
        namespace('a', { trust: 'yes' }),
        namespace('other', {}),
        namespace('going', { trust: 'yes' }, true),
      ),
      configMaps: new FakeCache(),
      secrets: new FakeCache(),
      keyRevocations,
      svidSecrets: () => undefined,
      journals: { get: () => undefined },
    },
    operatorNamespace: 'trustline-system',
    log: pino({ level: 'silent' }),
    now: () => T0,
    metrics: {
      countRotation: () => {},
      setAuthorities: () => {},
      setBundleSequence: () => {},
      forgetTrustDomain: (name) => forgotten.push(name),
    },
    audit: { signed: (record) => signed.push(record.operation), revocation: () => {} },
    events: {
      record: async (object, type, reason, message) =>
        void events.push({ on: `${object.kind}/${object.metadata.name}`, type, reason, message }),
    },
    failpoint: (name) => failpoints.push(name),
  });
  return { reconciler, writes, events, failpoints, forgotten, signed, trustDomains, keyRevocations };
}

const conditionsOf = (status: { conditions: readonly DesiredCondition[] } | undefined) =>
  status?.conditions.map(({ type, status, reason }) => `${type} ${status} ${reason}`);

describe('TrustDomainReconciler', () => {
  it('adds its finalizer first and writes nothing else', async () => {
    const { reconciler, writes } = setup(trustDomainObject({ finalizers: [] }));
    expect(await reconciler.reconcile('example')).toBeUndefined();
    expect(writes.finalizers).toEqual([[FINALIZER_IN_USE]]);
    expect(writes.saved).toEqual([]);
    expect(writes.statuses).toEqual([]);
  });

  it('records the journal before publishing it, to the selected namespaces, and writes status once', async () => {
    const { reconciler, writes, failpoints, signed, events } = setup();
    const result = await reconciler.reconcile('example');
    expect(writes.saved).toHaveLength(1);
    expect(signed.sort()).toEqual(['jwt-authority', 'x509-authority']);
    expect(failpoints).toEqual([
      'authority-minted',
      'authority-minted',
      'journal-written',
      'bundle-partly-published',
      'bundle-partly-published',
      'bundle-published',
    ]);
    expect(writes.published.map(({ content, namespaces }) => `${content}: ${namespaces.join(',')}`)).toEqual([
      'trust-bundle: a,b',
      'oidc-discovery: ',
    ]);
    expect(writes.clusterTrustBundles).toEqual([writes.published[0]?.data['bundle.pem']]);
    expect(writes.statuses).toHaveLength(1);
    expect(conditionsOf(writes.statuses[0])).toEqual([
      'Ready True AuthoritiesActive',
      'BundlePublished True Published',
    ]);
    expect(writes.statuses[0]?.fields).toMatchObject({ bundleSequence: 1, bundleNamespaces: 2 });
    expect(events.map(({ reason }) => reason)).toContain('AuthorityActivated');
    expect(result?.requeueAfterMs).toBeGreaterThan(0);
  });

  it('writes no journal and fires no failpoint when nothing changed', async () => {
    const { reconciler, writes, failpoints } = setup();
    await reconciler.reconcile('example');
    failpoints.length = 0;
    await reconciler.reconcile('example');
    expect(writes.saved).toHaveLength(1);
    expect(failpoints).toEqual([]);
    expect(writes.statuses).toHaveLength(2);
  });

  it('reports a failed copy and a ClusterTrustBundle the apiserver refused, and retries soon', async () => {
    const { reconciler, writes, events } = setup();
    writes.outcome = (publication) =>
      publication.content === 'trust-bundle'
        ? { foreign: [], failed: [{ namespace: 'b', message: 'exceeded quota' }] }
        : { foreign: [], failed: [] };
    writes.clusterTrustBundleError = new KubeApiError(403, 'Forbidden', 'forbidden');
    const result = await reconciler.reconcile('example');
    expect(writes.statuses).toHaveLength(1);
    expect(writes.statuses[0]?.conditions[1]).toMatchObject({
      reason: 'PublishFailed',
      message: expect.stringContaining('b: exceeded quota'),
    });
    expect(writes.statuses[0]?.conditions[1]?.message).toContain('ClusterTrustBundle');
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'Warning', reason: 'ClusterTrustBundleNotPublished' }),
    );
    expect(result?.requeueAfterMs).toBe(16_000);
  });

  it('reports an unreadable journal once and writes nothing', async () => {
    const { reconciler, writes } = setup();
    writes.stored = new JournalError('the journal is not JSON');
    expect(await reconciler.reconcile('example')).toBeUndefined();
    expect(writes.published).toEqual([]);
    expect(writes.statuses.map(conditionsOf)).toEqual([['Ready False JournalInvalid']]);
  });

  it('holds a deletion while an entry uses the trust domain, and lets it go after', async () => {
    const entry = {
      apiVersion: 'trustline.dev/v1alpha1',
      kind: 'RegistrationEntry',
      metadata: { name: 'web', namespace: 'a' },
      spec: { trustDomainRef: { name: 'example' } },
    };
    const deleting = trustDomainObject({ deletionTimestamp: T0.toISOString() });
    const held = setup(deleting, [entry]);
    expect(await held.reconciler.reconcile('example')).toMatchObject({ requeueAfterMs: expect.any(Number) });
    expect(held.writes.finalizers).toEqual([]);
    expect(held.writes.statuses[0]?.conditions[0]).toMatchObject({
      reason: 'InUse',
      message: expect.stringContaining('a/web'),
    });
    expect(held.writes.statuses).toHaveLength(1);

    const free = setup(deleting);
    expect(await free.reconciler.reconcile('example')).toBeUndefined();
    expect(free.writes.finalizers).toEqual([[]]);
    expect(free.forgotten).toEqual(['example.org']);
    expect(free.writes.statuses).toEqual([]);
  });

  it('reports an invalid spec without touching keys', async () => {
    const { reconciler, writes } = setup({
      ...trustDomainObject(),
      spec: { trustDomain: 'example.org:443' },
    });
    expect(await reconciler.reconcile('example')).toBeUndefined();
    expect(writes.saved).toEqual([]);
    expect(writes.statuses.map(conditionsOf)).toEqual([['Ready False InvalidSpec']]);
  });

  it('taints a key a KeyRevocation names, records it first, and tells the KeyRevocation and the TrustDomain', async () => {
    const { reconciler, writes, events, failpoints, keyRevocations } = setup();
    await reconciler.reconcile('example');
    if (writes.stored instanceof JournalError) throw writes.stored;
    const active = writes.stored.journal.authorities.find(({ type }) => type === 'X509');
    keyRevocations.put({
      apiVersion: 'trustline.dev/v1alpha1',
      kind: 'KeyRevocation',
      metadata: { name: 'leaked', creationTimestamp: T0.toISOString() },
      spec: {
        trustDomainRef: { name: 'example' },
        authority: { kind: 'X509', id: active?.id },
        reason: 'PolicyChange',
      },
    });
    failpoints.length = 0;
    events.length = 0;
    await reconciler.reconcile('example');
    // The successor is minted before the commit, and the taint is recorded in the same journal write;
    // the revocation waits out its grace period before revoking.
    expect(failpoints.filter((name) => name !== 'bundle-partly-published')).toEqual([
      'authority-minted',
      'journal-written',
      'revocation-tainted',
      'bundle-published',
    ]);
    expect(writes.saved.at(-1)?.authorities.find(({ id }) => id === active?.id)?.state).toBe('Tainted');
    expect(events.filter(({ reason }) => reason === 'AuthorityTainted').map(({ on }) => on)).toEqual([
      'KeyRevocation/leaked',
      'TrustDomain/example',
    ]);
    expect(writes.statuses.at(-1)?.fields).toMatchObject({
      revocations: [expect.objectContaining({ keyRevocation: 'leaked' })],
    });
  });
});
