import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ANNOTATION_TRUST_DOMAIN, LABEL_TRUST_DOMAIN_OBJECT } from '../../src/api/well-known.ts';
import { type CacheName, controllers } from '../../src/controllers/definitions.ts';
import { Router } from '../../src/controllers/router.ts';
import {
  type ClusterView,
  keyRevocationWatches,
  type Lister,
  type Mapping,
  POD_CHANGE_BATCH_MS,
  REVOCATION_PROGRESS_BATCH_MS,
  registrationEntryWatches,
  trustDomainWatches,
  type Wake,
} from '../../src/controllers/watches.ts';
import { emptyJournal, type Journal } from '../../src/core/authorities/model.ts';
import { labelValueFor } from '../../src/core/labels.ts';
import { type KubeObject, objectKey } from '../../src/kube/informer.ts';

/** An in-memory cache. */
function lister(objects: KubeObject[]): Lister {
  return {
    get: (key) => objects.find((object) => objectKey(object) === key),
    list: () => objects,
    byNamespace: (namespace) => objects.filter((object) => object.metadata.namespace === namespace),
  };
}

const trustDomain = (
  name: string,
  spec: Record<string, unknown>,
  extra: Partial<KubeObject['metadata']> = {},
) => ({
  metadata: { name, ...extra },
  spec,
});
const entry = (namespace: string, name: string, trustDomainRef: string, secret = true) => ({
  metadata: { namespace, name },
  spec: {
    trustDomainRef: { name: trustDomainRef },
    spiffeIDPath: `/${name}`,
    ...(secret ? { secret: { name } } : { workloadSelector: { serviceAccountName: name } }),
  },
});
const revocation = (name: string, trustDomainRef: string) => ({
  metadata: { name },
  spec: { trustDomainRef: { name: trustDomainRef } },
});

const prod = trustDomain('prod', {
  trustDomain: 'prod.example.org',
  upstream: { secretName: 'prod-upstream' },
});
const copy = trustDomain('copy', { trustDomain: 'prod.example.org' });
const staging = trustDomain('staging', { trustDomain: 'staging.example.org' });
const underWay: Journal = {
  ...emptyJournal('prod.example.org'),
  revocations: [
    {
      requestedBy: 'leak',
      kind: 'X509',
      id: 'ab12',
      reason: 'KeyCompromise',
      gracePeriodMs: 0,
      taintedIds: ['ab12'],
      rotated: true,
      taintedAt: '2026-01-01T00:00:00Z',
      affectedSVIDs: 3,
    },
  ],
};

function view(journals: Record<string, Journal> = {}): ClusterView {
  return {
    trustDomains: lister([prod, copy, staging]),
    registrationEntries: lister([
      entry('shop', 'web', 'prod'),
      entry('shop', 'pods', 'prod', false),
      entry('bank', 'api', 'staging'),
      entry('bank', 'copycat', 'copy'),
    ]),
    keyRevocations: lister([revocation('leak', 'prod'), revocation('old', 'staging')]),
    journals: { get: (name) => journals[name] },
  };
}

/** The keys a mapping asks for, scans run to the end, each with its delay. */
function keysOf(wakes: Wake[]): string[] {
  return wakes.flatMap((wake) => {
    const delay = wake.delayMs ? `+${wake.delayMs}` : '';
    if ('key' in wake) return [`${wake.key}${delay}`];
    const matches = wake.matches ?? (() => true);
    return wake.scan.filter(matches).map((object) => `${objectKey(object)}${delay}`);
  });
}

const map = (mapping: Mapping, change: 'added' | 'updated' | 'deleted', object: KubeObject, v = view()) =>
  keysOf(mapping(change, object, v)).sort();

describe('what a TrustDomain change wakes', () => {
  it('wakes itself and every object claiming the same trust domain, with their entries and revocations', () => {
    expect(map(trustDomainWatches.trustDomains, 'updated', prod)).toEqual(['copy', 'prod', 'prod']);
    expect(map(registrationEntryWatches.trustDomains, 'updated', prod)).toEqual([
      'bank/copycat',
      'shop/pods',
      'shop/web',
    ]);
    expect(map(keyRevocationWatches.trustDomains, 'updated', prod)).toEqual(['leak']);
  });

  it('wakes only the others when it is deleted', () => {
    const gone = trustDomain('gone', { trustDomain: 'staging.example.org' });
    expect(map(trustDomainWatches.trustDomains, 'deleted', gone)).toEqual(['staging']);
  });

  it('wakes an object waiting for an owner to let go of a name, whatever name it wants', () => {
    const waiting = {
      ...trustDomain('late', { trustDomain: 'other.example.org' }),
      status: { conditions: [{ type: 'Ready', reason: 'Conflict' }] },
    };
    const v = { ...view(), trustDomains: lister([prod, staging, waiting]) };
    expect(map(trustDomainWatches.trustDomains, 'updated', staging, v)).toEqual([
      'late',
      'staging',
      'staging',
    ]);
  });
});

describe('what a RegistrationEntry or KeyRevocation change wakes', () => {
  it('wakes the entry itself, and its TrustDomain only while that one is being deleted', () => {
    const web = entry('shop', 'web', 'prod');
    expect(map(registrationEntryWatches.registrationEntries, 'updated', web)).toEqual(['shop/web']);
    expect(map(registrationEntryWatches.registrationEntries, 'deleted', web)).toEqual([]);
    expect(map(trustDomainWatches.registrationEntries, 'updated', web)).toEqual([]);
    const deleting = {
      ...view(),
      trustDomains: lister([{ ...prod, metadata: { name: 'prod', deletionTimestamp: 'now' } }]),
    };
    expect(map(trustDomainWatches.registrationEntries, 'deleted', web, deleting)).toEqual(['prod']);
  });

  it("wakes a revocation's TrustDomain when it comes or goes, not on its status updates", () => {
    const leak = revocation('leak', 'prod');
    expect(map(trustDomainWatches.keyRevocations, 'added', leak)).toEqual(['prod']);
    expect(map(trustDomainWatches.keyRevocations, 'deleted', leak)).toEqual(['prod']);
    expect(map(trustDomainWatches.keyRevocations, 'updated', leak)).toEqual([]);
    expect(map(keyRevocationWatches.keyRevocations, 'updated', leak)).toEqual(['leak']);
  });
});

describe('what a change to a Secret, ConfigMap, namespace or pod wakes', () => {
  it('wakes the TrustDomain of an upstream CA Secret, and nothing else', () => {
    const upstream = { metadata: { namespace: 'trustline', name: 'prod-upstream' } };
    expect(map(trustDomainWatches.secrets, 'updated', upstream)).toEqual(['prod']);
    expect(map(registrationEntryWatches.secrets, 'updated', upstream)).toEqual([]);
    expect(map(keyRevocationWatches.secrets, 'updated', upstream)).toEqual([]);
  });

  it("wakes a journal's TrustDomain objects, their entries and their revocations", () => {
    const journal = {
      metadata: {
        namespace: 'trustline',
        name: 'j',
        annotations: { [ANNOTATION_TRUST_DOMAIN]: 'staging.example.org' },
      },
    };
    expect(map(trustDomainWatches.secrets, 'updated', journal)).toEqual(['staging']);
    expect(map(registrationEntryWatches.secrets, 'updated', journal)).toEqual(['bank/api']);
    expect(map(keyRevocationWatches.secrets, 'updated', journal)).toEqual(['old']);
  });

  it('wakes the TrustDomain a published ConfigMap or ClusterTrustBundle is labelled with', () => {
    const bundle = {
      metadata: { name: 'b', labels: { [LABEL_TRUST_DOMAIN_OBJECT]: labelValueFor('staging') } },
    };
    expect(map(trustDomainWatches.configMaps, 'deleted', bundle)).toEqual(['staging']);
    expect(map(trustDomainWatches.clusterTrustBundles, 'updated', bundle)).toEqual(['staging']);
    expect(map(trustDomainWatches.configMaps, 'updated', { metadata: { name: 'other' } })).toEqual([]);
  });

  it("wakes every TrustDomain and the namespace's entries on a namespace change", () => {
    const shop = { metadata: { name: 'shop' } };
    expect(map(trustDomainWatches.namespaces, 'updated', shop)).toEqual(['copy', 'prod', 'staging']);
    expect(map(registrationEntryWatches.namespaces, 'updated', shop)).toEqual(['shop/pods', 'shop/web']);
  });

  it("wakes the pod-mode entries of a pod's namespace, batched", () => {
    const pod = { metadata: { namespace: 'shop', name: 'pod-1' } };
    expect(map(registrationEntryWatches.pods, 'added', pod)).toEqual([`shop/pods+${POD_CHANGE_BATCH_MS}`]);
  });

  it("wakes an SVID Secret's entry, and while a revocation is under way its TrustDomain and revocations, batched", () => {
    const secret = {
      metadata: {
        namespace: 'shop',
        name: 'web',
        ownerReferences: [{ apiVersion: 'v', kind: 'RegistrationEntry', name: 'web', uid: 'u' }],
      },
    };
    expect(map(registrationEntryWatches.svidSecrets, 'updated', secret)).toEqual(['shop/web']);
    expect(map(trustDomainWatches.svidSecrets, 'updated', secret)).toEqual([]);
    const revoking = view({ 'prod.example.org': underWay });
    expect(map(trustDomainWatches.svidSecrets, 'updated', secret, revoking)).toEqual([
      `prod+${REVOCATION_PROGRESS_BATCH_MS}`,
    ]);
    expect(map(keyRevocationWatches.svidSecrets, 'updated', secret, revoking)).toEqual([
      `leak+${REVOCATION_PROGRESS_BATCH_MS}`,
    ]);
    expect(
      map(registrationEntryWatches.svidSecrets, 'updated', { metadata: { namespace: 'shop', name: 'x' } }),
    ).toEqual([]);
  });
});

describe('Router', () => {
  const until = async (holds: () => boolean, timeoutMs = 2_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!holds()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };

  function router(
    reconciled: string[],
    reconcilers: CacheName[] = [],
    journals: Record<string, Journal> = {},
  ) {
    const record = (name: string) => async (key: string) => {
      reconciled.push(`${name}:${key}`);
      return undefined;
    };
    return new Router({
      definitions: controllers,
      reconcilers: Object.fromEntries(
        controllers
          .filter((definition) => !reconcilers.length || reconcilers.includes(definition.reconciles))
          .map((definition) => [definition.name, record(definition.name)]),
      ),
      view: view(journals),
      log: pino({ level: 'silent' }),
      concurrency: 2,
      onReconcile: () => {},
      onReconcileError: () => {},
    });
  }

  it('keeps the keys changes ask for until it resumes, then reconciles each once', async () => {
    const reconciled: string[] = [];
    const routed = router(reconciled);
    routed.handler('trustDomains')('updated', staging);
    // The entries are scanned in slices after the handler returns; a paused queue only counts them.
    await until(() => routed.queues.reduce((sum, queue) => sum + queue.length, 0) === 3);
    expect(routed.queues.map((queue) => queue.length)).toEqual([1, 1, 1, 0]);
    expect(reconciled).toEqual([]);
    routed.resume();
    await until(() => reconciled.length >= 3);
    expect(reconciled.sort()).toEqual([
      'KeyRevocation:old',
      'RegistrationEntry:bank/api',
      'TrustDomain:staging',
    ]);
  });

  it('queues every object a controller reconciles, and none for a controller that is off', async () => {
    const reconciled: string[] = [];
    const routed = router(reconciled, ['trustDomains', 'keyRevocations']);
    routed.enqueueAll({
      trustDomains: lister([staging]),
      registrationEntries: lister([entry('a', 'b', 'staging')]),
    });
    routed.handler('registrationEntries')('updated', entry('a', 'b', 'staging'));
    expect(routed.queues).toHaveLength(2);
    routed.resume();
    await until(() => reconciled.length >= 1);
    expect(reconciled).toEqual(['TrustDomain:staging']);
  });

  it('wakes the named controllers at once, without the batching of Secret events', async () => {
    const reconciled: string[] = [];
    const routed = router(reconciled, [], { 'prod.example.org': underWay });
    const secret = {
      metadata: {
        namespace: 'shop',
        name: 'web',
        ownerReferences: [{ apiVersion: 'v', kind: 'RegistrationEntry', name: 'web', uid: 'u' }],
      },
    };
    routed.resume();
    routed.wakeNow('svidSecrets', secret, ['TrustDomain', 'KeyRevocation']);
    await until(() => reconciled.length >= 2, REVOCATION_PROGRESS_BATCH_MS / 2);
    expect(reconciled.sort()).toEqual(['KeyRevocation:leak', 'TrustDomain:prod']);
  });
});
