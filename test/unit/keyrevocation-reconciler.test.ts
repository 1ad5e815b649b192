import { describe, expect, it } from 'vitest';
import { API_VERSION } from '../../src/api/group.ts';
import { ANNOTATION_SVID_AUTHORITY_ID } from '../../src/api/well-known.ts';
import { KeyRevocationReconciler } from '../../src/controllers/keyrevocation/reconciler.ts';
import type { Journal, X509Authority } from '../../src/core/authorities/model.ts';
import { advanceRevocations } from '../../src/core/revocation/progress.ts';
import type { KubeObject } from '../../src/kube/informer.ts';
import type { RevocationAuditRecord } from '../../src/observability/audit.ts';

const NOW = new Date('2030-06-01T12:00:00Z');
const HOUR = 3_600_000;
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);

/** An in-memory cache: what the informers would hold. */
class FakeCache {
  readonly objects = new Map<string, KubeObject>();
  constructor(objects: KubeObject[] = []) {
    for (const object of objects) this.put(object);
  }
  put(object: KubeObject): void {
    const { namespace, name } = object.metadata;
    this.objects.set(namespace ? `${namespace}/${name}` : name, object);
  }
  get(key: string): KubeObject | undefined {
    return this.objects.get(key);
  }
  list(): KubeObject[] {
    return [...this.objects.values()];
  }
}

const authority = (id: string): X509Authority => ({
  type: 'X509',
  id,
  state: 'Active',
  keyType: 'EC-P256',
  notBefore: at(-HOUR).toISOString(),
  notAfter: at(23 * HOUR).toISOString(),
  privateKey: '-----BEGIN PRIVATE KEY-----\nMIGHAgEA\n-----END PRIVATE KEY-----\n',
  certificate: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
});

const untainted: Journal = {
  version: 1,
  trustDomain: 'example.org',
  authorities: [authority('aa01')],
  revoked: [],
  revocations: [],
  bundle: { sequence: 1, contentHash: 'h' },
};

const keyRevocation = (spec: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: API_VERSION,
  kind: 'KeyRevocation',
  metadata: { name: 'leak', uid: 'kr-1', creationTimestamp: NOW.toISOString() },
  spec: {
    trustDomainRef: { name: 'shop' },
    authority: { kind: 'X509', id: 'AA01' },
    reason: 'PolicyChange',
    gracePeriod: '1m',
    reissueTimeout: '1m',
    ...spec,
  },
});

const trustDomain: KubeObject = {
  apiVersion: API_VERSION,
  kind: 'TrustDomain',
  metadata: { name: 'shop', uid: 'td-1' },
  spec: { trustDomain: 'example.org' },
  status: {
    bundleSequence: 1,
    conditions: [
      { type: 'Ready', status: 'True', reason: 'AuthoritiesActive', message: '', lastTransitionTime: '' },
      { type: 'BundlePublished', status: 'True', reason: 'Published', message: '', lastTransitionTime: '' },
    ],
  },
};

const entry: KubeObject = {
  apiVersion: API_VERSION,
  kind: 'RegistrationEntry',
  metadata: { name: 'cart', namespace: 'payments', uid: 'entry-1' },
  spec: { trustDomainRef: { name: 'shop' }, spiffeIDPath: '/cart', secret: { name: 'cart-svid' } },
};

const svidSecret = (signer: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: {
    name: 'cart-svid',
    namespace: 'payments',
    annotations: { [ANNOTATION_SVID_AUTHORITY_ID]: signer },
    ownerReferences: [{ apiVersion: API_VERSION, kind: 'RegistrationEntry', name: 'cart', uid: 'entry-1' }],
  },
  data: {},
});

/** The journal once the TrustDomain controller tainted aa01 at NOW, with one SVID of it out there. */
const taintedAtNow = (): Journal =>
  advanceRevocations({
    journal: untainted,
    now: NOW,
    plans: [
      {
        request: {
          name: 'leak',
          kind: 'X509',
          id: 'aa01',
          reason: 'PolicyChange',
          gracePeriodMs: 60_000,
          reissueTimeoutMs: 60_000,
        },
        taintedIds: ['aa01'],
        rotated: false,
      },
    ],
    svidsBySigner: new Map([['aa01', 1]]),
  }).journal;

function harness(options: { journal?: Journal; revocation?: KubeObject; trustDomains?: KubeObject[] } = {}) {
  let now = NOW;
  const writes: { name: string; fields: Record<string, unknown>; reason: string | undefined }[] = [];
  const last = new Map<string, string>();
  const events: { type: string; reason: string; message: string }[] = [];
  const audits: RevocationAuditRecord[] = [];
  const durations: { step: string; seconds: number }[] = [];
  const journals = new Map([['example.org', options.journal ?? untainted]]);
  const secrets = new FakeCache([svidSecret('aa01')]);
  const reconciler = new KeyRevocationReconciler({
    writeStatus: async (object, fields, conditions) => {
      const written = JSON.stringify({ fields, conditions });
      writes.push({ name: object.metadata.name, fields, reason: conditions[0]?.reason });
      // The fake cache never shows the write, as a cache that lags behind would not.
      const changed = last.get(object.metadata.name) !== written;
      last.set(object.metadata.name, written);
      return changed;
    },
    keyRevocations: new FakeCache([options.revocation ?? keyRevocation()]),
    trustDomains: new FakeCache(options.trustDomains ?? [trustDomain]),
    registrationEntries: new FakeCache([entry]),
    secrets: new FakeCache(),
    svidSecrets: (namespace) => (namespace === 'payments' ? secrets : undefined),
    journals: { get: (name) => journals.get(name) },
    operatorNamespace: 'trustline-system',
    now: () => now,
    metrics: { observeRevocation: (step, _labels, seconds) => durations.push({ step, seconds }) },
    audit: { revocation: (record) => audits.push(record) },
    events: {
      record: async (_object, type, reason, message) => {
        events.push({ type, reason, message });
      },
    },
  });
  return {
    reconciler,
    writes,
    events,
    audits,
    durations,
    secrets,
    journals,
    setNow: (next: Date) => {
      now = next;
    },
  };
}

describe('KeyRevocationReconciler', () => {
  it('accepts a revocation the journal does not record yet: one status write, one audit record, one event', async () => {
    const h = harness();
    expect(await h.reconciler.reconcile('leak')).toEqual({ requeueAfterMs: 15_000 });
    expect(h.writes).toEqual([
      { name: 'leak', fields: { phase: 'Pending', validatedAt: NOW.toISOString() }, reason: 'Accepted' },
    ]);
    expect(h.audits.map(({ step, id }) => ({ step, id }))).toEqual([{ step: 'Accepted', id: 'aa01' }]);
    expect(h.events.map(({ reason }) => reason)).toEqual(['Accepted']);

    // The cache does not show the status yet: the memo keeps the audit record and event from repeating.
    await h.reconciler.reconcile('leak');
    expect(h.writes).toHaveLength(2);
    expect(h.audits).toHaveLength(1);
    expect(h.events).toHaveLength(1);
  });

  it('names the entry whose Secret still holds an SVID of the tainted key', async () => {
    const h = harness({ journal: taintedAtNow() });
    await h.reconciler.reconcile('leak');
    expect(h.writes).toHaveLength(1);
    expect(h.writes[0]?.fields).toMatchObject({ phase: 'Tainted', affectedSVIDs: 1, reissuedSVIDs: 0 });
    expect(h.writes[0]?.reason).toBe('Reissuing');
    expect(h.events[1]?.message).toContain('1 of 1 SVIDs it signed are still to be re-issued');
    expect(h.events[1]?.message).toContain('in the Secrets of payments/cart');

    h.secrets.put(svidSecret('bb02'));
    await h.reconciler.reconcile('leak');
    expect(h.writes[1]?.fields).toMatchObject({ reissuedSVIDs: 1 });
  });

  it('agrees with the journal once the re-issue deadline passes, before the TrustDomain controller writes it', async () => {
    const journal = taintedAtNow();
    const later = at(61_000);
    // What the TrustDomain controller writes at its next look: re-issuing is over, one SVID abandoned.
    const next = advanceRevocations({
      journal,
      now: later,
      plans: [],
      svidsBySigner: new Map([['aa01', 1]]),
    });
    expect(next.steps.map(({ step }) => step)).toEqual(['Reissued']);
    expect(next.journal.revocations[0]?.abandonedSVIDs).toBe(1);

    const h = harness({ journal });
    h.setNow(later);
    await h.reconciler.reconcile('leak');
    const message = h.events.at(-1)?.message ?? '';
    expect(message).toContain('re-issuing stopped waiting at 2030-06-01T12:01:00.000Z');
    expect(message).toContain('1 SVIDs it signed that were not re-issued are withdrawn or named here next');
    expect(message).not.toContain('still to be re-issued');
  });

  it('reports a missing TrustDomain as Failed, and leaves a revoked key revoked when its TrustDomain goes', async () => {
    const h = harness({ trustDomains: [] });
    expect(await h.reconciler.reconcile('leak')).toEqual({ requeueAfterMs: 30_000 });
    expect(h.writes.map(({ reason }) => reason)).toEqual(['TrustDomainNotFound']);
    expect(h.events).toEqual([
      {
        type: 'Warning',
        reason: 'TrustDomainNotFound',
        message: expect.stringContaining('shop does not exist'),
      },
    ]);
    expect(h.audits.map(({ step }) => step)).toEqual(['Refused']);

    const revoked = harness({
      trustDomains: [],
      revocation: { ...keyRevocation(), status: { phase: 'Revoked', revokedAt: NOW.toISOString() } },
    });
    expect(await revoked.reconciler.reconcile('leak')).toBeUndefined();
    expect(revoked.writes).toEqual([]);
  });

  it('reports an invalid spec without an audit record', async () => {
    const h = harness({ revocation: keyRevocation({ reason: 'Boredom' }) });
    expect(await h.reconciler.reconcile('leak')).toBeUndefined();
    expect(h.writes.map(({ reason }) => reason)).toEqual(['InvalidSpec']);
    expect(h.audits).toEqual([]);
    expect(h.events.map(({ type }) => type)).toEqual(['Warning']);
  });

  it('observes how long re-issuing and revoking took, once each', async () => {
    const reissued = advanceRevocations({
      journal: taintedAtNow(),
      now: at(30_000),
      plans: [],
      svidsBySigner: new Map(),
    }).journal;
    const revoked = advanceRevocations({
      journal: reissued,
      now: at(90_000),
      plans: [],
      svidsBySigner: new Map(),
    });
    expect(revoked.steps.map(({ step }) => step)).toEqual(['Revoked']);
    const h = harness({ journal: revoked.journal });
    h.secrets.put(svidSecret('bb02'));
    await h.reconciler.reconcile('leak');
    expect(h.writes[0]?.fields).toMatchObject({ phase: 'Revoked' });
    expect(h.durations).toEqual([
      { step: 'reissued', seconds: 30 },
      { step: 'revoked', seconds: 90 },
    ]);
    await h.reconciler.reconcile('leak');
    expect(h.durations).toHaveLength(2);
  });

  it('writes nothing for an object the cache no longer holds', async () => {
    const h = harness();
    expect(await h.reconciler.reconcile('gone')).toBeUndefined();
    expect(h.writes).toEqual([]);
  });
});
