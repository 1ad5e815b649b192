import { describe, expect, it } from 'vitest';
import { type TrustDomain, trustDomainSchema } from '../../src/api/trustdomain.ts';
import { ANNOTATION_REINITIALIZE_KEYS } from '../../src/api/well-known.ts';
import { JournalError } from '../../src/core/authorities/journal-codec.ts';
import { emptyJournal, type Journal } from '../../src/core/authorities/model.ts';
import { CONFIGMAP_LIMIT_BYTES } from '../../src/core/bundle/trust-bundle.ts';
import type { RevocationRequest } from '../../src/core/revocation/assess.ts';
import {
  admit,
  HELD_RECHECK_MS,
  type JournalAsStored,
  refusalStop,
  specRefusal,
  UPSTREAM_RECHECK_MS,
} from '../../src/core/trustdomain/gate.ts';
import { type AuthorityMinter, localMinter } from '../../src/core/trustdomain/minter.ts';
import {
  conclude,
  oversized,
  PUBLISH_RETRY_MS,
  type PublishedOutcome,
  RESYNC_MS,
} from '../../src/core/trustdomain/outcome.ts';
import { planRotation, type RotationInput, type RotationPlan } from '../../src/core/trustdomain/plan.ts';

const T0 = new Date('2030-01-01T00:00:00.000Z');
const HOUR = 3_600_000;
const at = (ms: number) => new Date(T0.getTime() + ms);

const trustDomainOf = (
  extra: { status?: object; annotations?: Record<string, string>; spec?: object } = {},
) =>
  trustDomainSchema.parse({
    apiVersion: 'trustline.dev/v1alpha1',
    kind: 'TrustDomain',
    metadata: { name: 'example', uid: 'u-1', generation: 1, annotations: extra.annotations },
    spec: { trustDomain: 'example.org', jwt: { issuer: 'https://oidc.example.org' }, ...extra.spec },
    ...(extra.status ? { status: extra.status } : {}),
  });

/** The local minter, counting what it was asked for. */
const countingMinter = () => {
  const minted: string[] = [];
  const minter: AuthorityMinter = {
    x509: async (params) => {
      minted.push('X509');
      return localMinter.x509(params);
    },
    jwt: async (params) => {
      minted.push('JWT');
      return localMinter.jwt(params);
    },
  };
  return { minted, minter };
};

const noCounts = async () => {
  throw new Error('counted although no revocation needs it');
};

const input = (
  trustDomain: TrustDomain,
  stored: JournalAsStored,
  now: Date,
  minter: AuthorityMinter,
): RotationInput => ({
  trustDomain,
  stored,
  signing: { mint: true, upstream: undefined },
  problem: undefined,
  now,
  minter,
  revocations: undefined,
  counts: noCounts,
  namespaces: ['a', 'b'],
});

const fresh = (): JournalAsStored => ({ journal: emptyJournal('example.org'), resourceVersion: undefined });
const written = (plan: RotationPlan, resourceVersion = '7'): JournalAsStored => ({
  journal: plan.write ?? plan.journal,
  resourceVersion,
});

const published: PublishedOutcome = {
  bundle: { foreign: [], failed: [] },
  oidc: { foreign: [], failed: [] },
  clusterTrustBundle: undefined,
};

describe('planRotation', () => {
  it('mints the first authorities, audits them, and plans every publication from one journal', async () => {
    const { minted, minter } = countingMinter();
    const plan = await planRotation(input(trustDomainOf(), fresh(), T0, minter));
    expect(minted.sort()).toEqual(['JWT', 'X509']);
    expect(plan.write?.authorities.map(({ type, state }) => `${type} ${state}`).sort()).toEqual([
      'JWT Active',
      'X509 Active',
    ]);
    expect(
      plan.audit.map((record) => ('signed' in record ? record.signed.operation : 'revocation')).sort(),
    ).toEqual(['jwt-authority', 'x509-authority']);
    expect(JSON.stringify(plan.audit)).not.toContain('PRIVATE KEY');
    expect(plan.events.map(({ reason }) => reason)).toContain('AuthorityActivated');
    expect(plan.statusFields).toMatchObject({ bundleSequence: 1 });
    expect(JSON.stringify(plan.statusFields)).not.toContain('PRIVATE KEY');
    expect(plan.publications.bundle).toMatchObject({ name: 'example-trust-bundle', namespaces: ['a', 'b'] });
    expect(plan.publications.bundle.data['bundle.pem']).toBe(plan.publications.clusterTrustBundlePem);
    // Without spec.oidc the OIDC documents go nowhere, which empties a copy left from before.
    expect(plan.publications.oidc.namespaces).toEqual([]);
    expect(plan.publications.oidc.data['openid-configuration']).toContain('https://oidc.example.org');
  });

  it('writes nothing and mints nothing when the journal is current', async () => {
    const first = await planRotation(input(trustDomainOf(), fresh(), T0, localMinter));
    const { minted, minter } = countingMinter();
    const again = await planRotation(input(trustDomainOf(), written(first), at(60_000), minter));
    expect(minted).toEqual([]);
    expect(again.write).toBeUndefined();
    expect(again.events).toEqual([]);
    expect(again.nextCheckAt).toBeGreaterThan(at(60_000).getTime());
  });

  it('prepares a successor half way through the X.509 authority, and activates it later', async () => {
    const first = await planRotation(input(trustDomainOf(), fresh(), T0, localMinter));
    const prepared = await planRotation(
      input(trustDomainOf(), written(first), at(12 * HOUR + 1), localMinter),
    );
    expect(prepared.changes.map(({ type, to }) => `${type} ${to}`).sort()).toEqual([
      'JWT Prepared',
      'X509 Prepared',
    ]);
    expect(prepared.statusFields).toMatchObject({ bundleSequence: 2 });
    const activated = await planRotation(
      input(trustDomainOf(), written(prepared), at(20 * HOUR + 1), localMinter),
    );
    expect(activated.changes.map(({ type, to }) => `${type} ${to}`).sort()).toEqual([
      'JWT Active',
      'JWT Old',
      'X509 Active',
      'X509 Old',
    ]);
  });

  it('takes a revocation step: taints the key, audits it and tells the KeyRevocation and the TrustDomain', async () => {
    const first = await planRotation(input(trustDomainOf(), fresh(), T0, localMinter));
    const stored = written(first);
    const active = stored.journal.authorities.find(({ type }) => type === 'X509');
    if (!active) throw new Error('no X.509 authority');
    const request: RevocationRequest = {
      name: 'compromised',
      kind: 'X509',
      id: active.id,
      reason: 'KeyCompromise',
      gracePeriodMs: 0,
      reissueTimeoutMs: HOUR,
    };
    let counted = 0;
    const plan = await planRotation({
      ...input(trustDomainOf(), stored, at(60_000), localMinter),
      revocations: {
        requests: [request],
        context: { trustDomain: 'example.org', journal: stored.journal, upstream: undefined, others: [] },
      },
      counts: async () => {
        counted += 1;
        return { reissuable: new Map([[active.id, 2]]), unwritable: new Map(), podCertificates: [] };
      },
    });
    expect(counted).toBe(1);
    expect(plan.steps.map(({ step }) => step)).toContain('Tainted');
    expect(plan.write?.authorities.find(({ id }) => id === active.id)?.state).toBe('Tainted');
    expect(plan.audit).toContainEqual({
      revocation: expect.objectContaining({ step: 'Tainted', keyRevocation: 'compromised', id: active.id }),
    });
    const tainted = plan.events.filter(({ reason }) => reason === 'AuthorityTainted');
    expect(tainted.map(({ keyRevocation }) => keyRevocation)).toEqual(['compromised', undefined]);
    expect(plan.statusFields).toMatchObject({
      revocations: [expect.objectContaining({ keyRevocation: 'compromised' })],
    });
  });
});

describe('conclude', () => {
  it('reports Ready and BundlePublished and wakes for the next threshold', async () => {
    const plan = await planRotation(input(trustDomainOf(), fresh(), T0, localMinter));
    const conclusion = conclude(plan, published, T0);
    expect(conclusion.conditions.map(({ type, status, reason }) => `${type} ${status} ${reason}`)).toEqual([
      'Ready True AuthoritiesActive',
      'BundlePublished True Published',
    ]);
    expect(conclusion.fields).toMatchObject({ bundleNamespaces: 2, foreignBundleNamespaces: [] });
    expect(conclusion.requeueAfterMs).toBe(RESYNC_MS);
  });

  it('retries soon when a copy failed, and names it', async () => {
    const plan = await planRotation(input(trustDomainOf(), fresh(), T0, localMinter));
    const conclusion = conclude(
      plan,
      { ...published, bundle: { foreign: ['c'], failed: [{ namespace: 'b', message: 'quota exceeded' }] } },
      T0,
    );
    expect(conclusion.conditions[1]).toMatchObject({
      status: 'False',
      reason: 'PublishFailed',
      message: expect.stringContaining('b: quota exceeded'),
    });
    expect(conclusion.fields).toMatchObject({ bundleNamespaces: 0, foreignBundleNamespaces: ['c'] });
    expect(conclusion.requeueAfterMs).toBe(PUBLISH_RETRY_MS + 1_000);
  });

  it('counts a ClusterTrustBundle or OIDC document that was not written against BundlePublished', async () => {
    const plan = await planRotation(input(trustDomainOf(), fresh(), T0, localMinter));
    const conclusion = conclude(plan, { ...published, clusterTrustBundle: 'forbidden' }, T0);
    expect(conclusion.conditions[1]).toMatchObject({
      reason: 'PublishFailed',
      message: expect.stringContaining('ClusterTrustBundle: forbidden'),
    });
    const oidc = conclude(plan, { ...published, oidc: { foreign: ['x'], failed: [] } }, T0);
    expect(oidc.conditions[0]).toMatchObject({ reason: 'OIDCNotPublished' });
  });

  it('publishes nowhere when the bundle is over the ConfigMap limit', async () => {
    const plan = await planRotation(input(trustDomainOf(), fresh(), T0, localMinter));
    expect(oversized(plan)).toBeUndefined();
    const tooLarge = oversized({ ...plan, bundleBytes: CONFIGMAP_LIMIT_BYTES + 1 });
    expect(tooLarge?.conditions.map(({ type, reason }) => `${type} ${reason}`)).toEqual([
      'Ready BundleTooLarge',
      'BundlePublished BundleTooLarge',
    ]);
    expect(tooLarge?.requeueAfterMs).toBe(RESYNC_MS);
  });

  it('says issuance is stopped when nothing can be minted and no X.509 authority is active', async () => {
    const first = await planRotation(input(trustDomainOf(), fresh(), T0, localMinter));
    const journal: Journal = {
      ...first.journal,
      authorities: first.journal.authorities.filter(({ type }) => type === 'JWT'),
    };
    const problem = { type: 'Ready', status: 'False' as const, reason: 'UpstreamNotFound', message: 'gone' };
    const plan = await planRotation({
      ...input(trustDomainOf(), { journal, resourceVersion: '1' }, T0, localMinter),
      signing: { mint: false, upstream: undefined, roots: [] },
      problem,
    });
    const conclusion = conclude(plan, published, T0);
    expect(conclusion.conditions[0]).toMatchObject({
      reason: 'UpstreamNotFound',
      message: expect.stringContaining('issuance is stopped'),
    });
    expect(conclusion.requeueAfterMs).toBe(HELD_RECHECK_MS + 1_000);
  });
});

describe('admit', () => {
  const base = {
    held: undefined,
    refusal: undefined,
    revoking: false,
    upstream: { ca: undefined },
    operatorNamespace: 'trustline-system',
  };

  it('refuses to mint over a journal that is gone after a bundle was published', () => {
    const trustDomain = trustDomainOf({ status: { bundleSequence: 3 } });
    const admission = admit({ ...base, trustDomain, stored: fresh() });
    expect(admission).toEqual({
      stop: { ready: expect.objectContaining({ reason: 'JournalMissing' }), requeueAfterMs: undefined },
    });
    const reinitialized = trustDomainOf({
      status: { bundleSequence: 3 },
      annotations: { [ANNOTATION_REINITIALIZE_KEYS]: 'true' },
    });
    expect(admit({ ...base, trustDomain: reinitialized, stored: fresh() })).toMatchObject({
      signing: { mint: true },
    });
  });

  it('leaves an unreadable journal untouched', () => {
    const admission = admit({ ...base, trustDomain: trustDomainOf(), stored: new JournalError('bad json') });
    expect(admission).toMatchObject({ stop: { ready: { reason: 'JournalInvalid' } } });
  });

  it('waits for a missing upstream Secret before the first keys, and looks again', () => {
    const trustDomain = trustDomainOf({ spec: { upstream: { secretName: 'ca' } } });
    const admission = admit({
      ...base,
      trustDomain,
      upstream: {
        problem: 'UpstreamNotFound',
        message: 'upstream CA Secret trustline-system/ca does not exist',
      },
      stored: fresh(),
    });
    expect(admission).toEqual({
      stop: {
        ready: expect.objectContaining({ reason: 'UpstreamNotFound' }),
        requeueAfterMs: UPSTREAM_RECHECK_MS,
      },
    });
  });

  it('keeps publishing the journal without minting while an upstream Secret is unusable', async () => {
    const first = await planRotation(input(trustDomainOf(), fresh(), T0, localMinter));
    const admission = admit({
      ...base,
      trustDomain: trustDomainOf(),
      upstream: { problem: 'UpstreamNotBound', message: 'not bound' },
      stored: written(first),
    });
    expect(admission).toMatchObject({
      signing: { mint: false, roots: [] },
      problem: { reason: 'UpstreamNotBound' },
    });
  });

  it('stops on a conflict before the journal is read, but lets short lifetimes through', () => {
    const trustDomain = trustDomainOf();
    const conflict = specRefusal(trustDomain, { kind: 'TrustDomain', message: 'taken' });
    expect(refusalStop(undefined, conflict)).toEqual({
      ready: expect.objectContaining({ reason: 'Conflict' }),
      requeueAfterMs: undefined,
    });
    const short = specRefusal(trustDomainOf({ spec: { ca: { ttl: '2h' } } }), undefined);
    expect(short?.reason).toBe('LifetimeTooShort');
    expect(refusalStop(undefined, short)).toBeUndefined();
    const admission = admit({ ...base, trustDomain, refusal: short, stored: fresh() });
    expect(admission).toEqual({ stop: expect.objectContaining({ requeueAfterMs: UPSTREAM_RECHECK_MS }) });
    expect(
      admit({
        ...base,
        trustDomain,
        refusal: short,
        revoking: true,
        stored: { journal: emptyJournal('example.org'), resourceVersion: '3' },
      }),
    ).toMatchObject({
      signing: { mint: true },
      problem: { reason: 'LifetimeTooShort' },
    });
  });
});
