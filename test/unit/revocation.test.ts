import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { gracePeriodMs, reissueTimeoutMs } from '../../src/api/keyrevocation.ts';
import {
  ANNOTATION_SVID_AUTHORITY_ID,
  ANNOTATION_SVID_WITHDRAWN,
  ANNOTATION_WITHDRAWN_SIGNERS,
} from '../../src/api/well-known.ts';
import type { Authority, Journal, JwtAuthority, X509Authority } from '../../src/core/authorities/model.ts';
import {
  assessRevocation,
  type RevocationAssessment,
  type RevocationContext,
  type RevocationRequest,
} from '../../src/core/revocation/assess.ts';
import {
  abandonedSigners,
  advanceRevocations,
  inProgress,
  noteReplacements,
  revocationStepMessage,
  revokedUpstreamRoot,
} from '../../src/core/revocation/progress.ts';
import { countBySigner, svidSigners } from '../../src/core/revocation/signers.ts';
import {
  bundlePublished,
  foreignCopies,
  keyRevocationView,
  trustDomainProblem,
  trustDomainRevocations,
} from '../../src/core/revocation/status.ts';
import { notReadyReason } from '../../src/core/svid/withdrawal.ts';

const NOW = new Date('2030-06-01T12:00:00Z');
const HOUR = 3_600_000;
const iso = (offsetMs: number) => new Date(NOW.getTime() + offsetMs).toISOString();
const FAKE_KEY = '-----BEGIN PRIVATE KEY-----\nMIGHAgEA\n-----END PRIVATE KEY-----\n';
const FAKE_CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

const x509 = (id: string, state: X509Authority['state'], upstreamRoot?: string): X509Authority => ({
  type: 'X509',
  id,
  state,
  keyType: 'EC-P256',
  notBefore: iso(-HOUR),
  notAfter: iso(23 * HOUR),
  privateKey: FAKE_KEY,
  certificate: FAKE_CERT,
  ...(upstreamRoot === undefined
    ? {}
    : { upstream: { signerId: `s-${upstreamRoot}`, rootId: upstreamRoot, chain: [] } }),
});

const jwt = (id: string, state: JwtAuthority['state']): JwtAuthority => ({
  type: 'JWT',
  id,
  state,
  algorithm: 'ES256',
  notBefore: iso(-HOUR),
  notAfter: iso(23 * HOUR),
  privateKey: FAKE_KEY,
  publicKey: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' },
});

const journalOf = (authorities: Authority[], trustDomain = 'example.org'): Journal => ({
  version: 1,
  trustDomain,
  authorities,
  revoked: [],
  revocations: [],
  bundle: { sequence: 1, contentHash: 'h' },
});

const selfSigned = journalOf([
  x509('aa01', 'Active'),
  x509('aa02', 'Prepared'),
  jwt('kid-1', 'Active'),
  jwt('kid-0', 'Old'),
]);

const request = (overrides: Partial<RevocationRequest> = {}): RevocationRequest => ({
  name: 'leak',
  kind: 'X509',
  id: 'aa01',
  reason: 'KeyCompromise',
  gracePeriodMs: 0,
  reissueTimeoutMs: 24 * 3_600_000,
  ...overrides,
});

const context = (overrides: Partial<RevocationContext> = {}): RevocationContext => ({
  trustDomain: 'example.org',
  journal: selfSigned,
  upstream: undefined,
  others: [journalOf([x509('bb01', 'Active'), jwt('kid-other', 'Active')], 'other.org')],
  ...overrides,
});

const refusal = (assessment: RevocationAssessment) => {
  if (assessment.state !== 'refused') throw new Error(`expected a refusal, got ${assessment.state}`);
  return assessment.refusal;
};

const plan = (assessment: RevocationAssessment) => {
  if (assessment.state !== 'accepted') throw new Error(`expected acceptance, got ${assessment.state}`);
  return assessment.plan;
};

describe('assessRevocation', () => {
  it('accepts the active X.509 authority, in either hex case, and plans a rotation', () => {
    const accepted = plan(assessRevocation(request({ id: 'AA01' }), context()));
    expect(accepted).toEqual({ request: request(), taintedIds: ['aa01'], rotated: true });
  });

  it('accepts a retired JWT key without a rotation, keeping the kid as written', () => {
    const accepted = plan(assessRevocation(request({ kind: 'JWT', id: 'kid-0' }), context()));
    expect(accepted.taintedIds).toEqual(['kid-0']);
    expect(accepted.rotated).toBe(false);
  });

  it('refuses an unknown id and lists the ids of that kind', () => {
    const refused = refusal(assessRevocation(request({ id: 'ff00' }), context()));
    expect(refused.code).toBe('UnknownAuthority');
    expect(refused.message).toContain('trust domain example.org has no X.509 authority ff00');
    expect(refused.message).toContain('its X.509 authorities are: aa01, aa02');
  });

  it('refuses an id of another trust domain and names that trust domain', () => {
    const refused = refusal(assessRevocation(request({ id: 'bb01' }), context()));
    expect(refused.code).toBe('OtherTrustDomain');
    expect(refused.message).toContain('belongs to trust domain other.org, not example.org');
  });

  it('refuses a kind that does not match the id and says which kind it is, whatever the kid case', () => {
    const journal = journalOf([...selfSigned.authorities, jwt('KiD-9', 'Old')]);
    const refused = refusal(assessRevocation(request({ id: 'KiD-9' }), context({ journal })));
    expect(refused.code).toBe('KindMismatch');
    expect(refused.message).toContain(
      'KiD-9 is a JWT key of trust domain example.org, not an X.509 authority',
    );
    expect(refused.message).toContain('set spec.authority.kind to JWT');
    const wrongCase = refusal(assessRevocation(request({ kind: 'JWT', id: 'kid-9' }), context({ journal })));
    expect(wrongCase.code).toBe('UnknownAuthority');
  });

  it('refuses an upstream root of a self-signed trust domain', () => {
    const refused = refusal(assessRevocation(request({ kind: 'UpstreamX509', id: 'cc01' }), context()));
    expect(refused.code).toBe('UnknownAuthority');
  });

  describe('on an upstream-signed trust domain', () => {
    const upstreamJournal = journalOf([
      x509('aa10', 'Old', 'root-a'),
      x509('aa11', 'Active', 'root-a'),
      x509('aa12', 'Prepared', 'root-b'),
      jwt('kid-1', 'Active'),
    ]);
    const upstream = (signerRootId: string) => ({
      secret: 'trustline/upstream',
      rootIds: ['root-a', 'root-b'],
      signerRootId,
    });

    it("refuses Trustline's own intermediate and says to rotate the signer and revoke the root", () => {
      const refused = refusal(
        assessRevocation(
          request({ id: 'aa11' }),
          context({ journal: upstreamJournal, upstream: upstream('root-b') }),
        ),
      );
      expect(refused.code).toBe('UpstreamIntermediate');
      expect(refused.message).toContain('cuts nothing off');
      expect(refused.message).toContain('Secret trustline/upstream');
      expect(refused.message).toContain('revoke the upstream root root-a (kind UpstreamX509)');
    });

    it('refuses a root the upstream signer still chains to', () => {
      const refused = refusal(
        assessRevocation(
          request({ kind: 'UpstreamX509', id: 'root-a' }),
          context({ journal: upstreamJournal, upstream: upstream('root-a') }),
        ),
      );
      expect(refused.code).toBe('SignerOnRevokedRoot');
      expect(refused.message).toContain('chains to root root-a, the one to revoke');
    });

    it('accepts a root once the signer chains elsewhere, tainting every intermediate under it', () => {
      const accepted = plan(
        assessRevocation(
          request({ kind: 'UpstreamX509', id: 'root-a' }),
          context({ journal: upstreamJournal, upstream: upstream('root-b') }),
        ),
      );
      expect(accepted.taintedIds).toEqual(['aa10', 'aa11']);
      expect(accepted.rotated).toBe(true);
    });

    it('refuses a root that is not in ca.crt', () => {
      const refused = refusal(
        assessRevocation(
          request({ kind: 'UpstreamX509', id: 'root-z' }),
          context({ journal: upstreamJournal, upstream: upstream('root-b') }),
        ),
      );
      expect(refused.code).toBe('UnknownAuthority');
      expect(refused.message).toContain('its upstream roots are: root-a, root-b');
    });
  });

  it('finds its own record, another revocation of the same key, and a key revoked before', () => {
    const tainted = advanceRevocations({
      journal: selfSigned,
      now: NOW,
      plans: [plan(assessRevocation(request(), context()))],
      svidsBySigner: new Map([['aa01', 3]]),
    }).journal;
    expect(assessRevocation(request(), context({ journal: tainted }))).toMatchObject({
      state: 'recorded',
      own: true,
    });
    expect(assessRevocation(request({ name: 'again' }), context({ journal: tainted }))).toMatchObject({
      state: 'recorded',
      own: false,
    });
    const revokedLongAgo = { ...selfSigned, revoked: [{ type: 'X509' as const, id: 'dd01' }] };
    expect(assessRevocation(request({ id: 'dd01' }), context({ journal: revokedLongAgo }))).toEqual({
      state: 'alreadyRevoked',
    });
  });
});

describe('advanceRevocations', () => {
  const accepted = (overrides: Partial<RevocationRequest> = {}, journal = selfSigned) =>
    plan(assessRevocation(request(overrides), context({ journal })));

  it('taints the target and records how many SVIDs it signed', () => {
    const result = advanceRevocations({
      journal: selfSigned,
      now: NOW,
      plans: [accepted({ gracePeriodMs: 120_000 })],
      svidsBySigner: new Map([
        ['aa01', 7],
        ['kid-1', 4],
      ]),
    });
    expect(result.journal.authorities.find((a) => a.id === 'aa01')?.state).toBe('Tainted');
    // The prepared key sat beside the cut-off one: a freshly minted key replaces it instead.
    expect(result.journal.authorities.map((a) => a.id)).toEqual(['aa01', 'kid-1', 'kid-0']);
    expect(result.journal.revocations).toEqual([
      {
        requestedBy: 'leak',
        kind: 'X509',
        id: 'aa01',
        reason: 'KeyCompromise',
        gracePeriodMs: 120_000,
        reissueTimeoutMs: 24 * 3_600_000,
        taintedIds: ['aa01'],
        rotated: true,
        taintedAt: NOW.toISOString(),
        affectedSVIDs: 7,
      },
    ]);
    expect(result.steps.map((s) => s.step)).toEqual(['Tainted']);
    // Waiting for SVIDs is bounded: the revocation looks again when its re-issue timeout ends.
    expect(result.nextCheckAt).toEqual(new Date(NOW.getTime() + 24 * 3_600_000));
    expect(inProgress(result.journal)).toHaveLength(1);
  });

  describe('with certificates issued to PodCertificateRequests', () => {
    const podCertificates = [
      // Refreshes in half an hour; another in two hours; one already past its refresh time.
      {
        signerId: 'aa01',
        beginRefreshAt: new Date(NOW.getTime() + HOUR / 2),
        notAfter: new Date(NOW.getTime() + HOUR),
      },
      {
        signerId: 'aa01',
        beginRefreshAt: new Date(NOW.getTime() + 2 * HOUR),
        notAfter: new Date(NOW.getTime() + 4 * HOUR),
      },
      {
        signerId: 'aa01',
        beginRefreshAt: new Date(NOW.getTime() - HOUR),
        notAfter: new Date(NOW.getTime() + HOUR),
      },
      {
        signerId: 'other',
        beginRefreshAt: new Date(NOW.getTime() + HOUR),
        notAfter: new Date(NOW.getTime() + 2 * HOUR),
      },
    ];
    const taint = (reason: RevocationRequest['reason']) =>
      advanceRevocations({
        journal: selfSigned,
        now: NOW,
        plans: [accepted({ reason })],
        svidsBySigner: new Map(),
        podCertificates,
      });

    it('counts every still-valid certificate of the key as affected', () => {
      expect(taint('Superseded').journal.revocations[0]?.affectedSVIDs).toBe(3);
    });

    it('waits under a grace period until each is past its refresh time, waking at the first', () => {
      const tainted = taint('Superseded');
      expect(tainted.steps.map((s) => s.step)).toEqual(['Tainted']);
      expect(tainted.nextCheckAt).toEqual(new Date(NOW.getTime() + HOUR / 2));
      const later = (offsetMs: number) =>
        advanceRevocations({
          journal: tainted.journal,
          now: new Date(NOW.getTime() + offsetMs),
          plans: [],
          svidsBySigner: new Map(),
          podCertificates,
        });
      const halfway = later(HOUR);
      expect(halfway.steps).toEqual([]);
      expect(halfway.nextCheckAt).toEqual(new Date(NOW.getTime() + 2 * HOUR));
      expect(later(2 * HOUR + 1).steps.map((s) => s.step)).toEqual(['Reissued', 'Revoked']);
    });

    it('does not wait for them when the key was compromised', () => {
      expect(taint('KeyCompromise').steps.map((s) => s.step)).toEqual(['Tainted', 'Reissued', 'Revoked']);
    });
  });

  it('waits while SVIDs remain, then waits out the grace period, then revokes and destroys the key', () => {
    const grace = 120_000;
    const tainted = advanceRevocations({
      journal: selfSigned,
      now: NOW,
      plans: [accepted({ gracePeriodMs: grace })],
      svidsBySigner: new Map([['aa01', 2]]),
    }).journal;

    const still = advanceRevocations({
      journal: tainted,
      now: new Date(NOW.getTime() + 1000),
      plans: [],
      svidsBySigner: new Map([['aa01', 1]]),
    });
    expect(still.journal).toEqual(tainted);
    expect(still.steps).toEqual([]);

    const t1 = new Date(NOW.getTime() + 5000);
    const reissued = advanceRevocations({ journal: tainted, now: t1, plans: [], svidsBySigner: new Map() });
    expect(reissued.steps.map((s) => s.step)).toEqual(['Reissued']);
    expect(reissued.journal.revocations[0]?.reissuedAt).toBe(t1.toISOString());
    expect(reissued.nextCheckAt).toEqual(new Date(t1.getTime() + grace));
    expect(reissued.journal.authorities.some((a) => a.id === 'aa01')).toBe(true);

    const early = advanceRevocations({
      journal: reissued.journal,
      now: new Date(t1.getTime() + grace - 1),
      plans: [],
      svidsBySigner: new Map(),
    });
    expect(early.steps).toEqual([]);

    const t2 = new Date(t1.getTime() + grace);
    const revoked = advanceRevocations({
      journal: reissued.journal,
      now: t2,
      plans: [],
      svidsBySigner: new Map(),
    });
    expect(revoked.steps.map((s) => s.step)).toEqual(['Revoked']);
    expect(revoked.journal.authorities.map((a) => a.id)).toEqual(['kid-1', 'kid-0']);
    expect(revoked.journal.revoked).toEqual([{ type: 'X509', id: 'aa01' }]);
    expect(revoked.journal.revocations[0]?.revokedAt).toBe(t2.toISOString());
    expect(inProgress(revoked.journal)).toEqual([]);
    expect(revoked.nextCheckAt).toBeUndefined();

    const again = advanceRevocations({
      journal: revoked.journal,
      now: t2,
      plans: [],
      svidsBySigner: new Map(),
    });
    expect(again.journal).toEqual(revoked.journal);
    expect(again.steps).toEqual([]);
  });

  it('with no grace period and nothing left to re-issue, revokes in the same pass', () => {
    const result = advanceRevocations({
      journal: selfSigned,
      now: NOW,
      plans: [accepted({ kind: 'JWT', id: 'kid-0' })],
      svidsBySigner: new Map([['aa01', 5]]),
    });
    expect(result.steps.map((s) => s.step)).toEqual(['Tainted', 'Reissued', 'Revoked']);
    expect(result.journal.authorities.map((a) => a.id)).toEqual(['aa01', 'aa02', 'kid-1']);
    expect(result.journal.revoked).toEqual([{ type: 'JWT', id: 'kid-0' }]);
  });

  it('keeps a prepared key when the target was not signing', () => {
    const result = advanceRevocations({
      journal: selfSigned,
      now: NOW,
      plans: [accepted({ kind: 'JWT', id: 'kid-0', gracePeriodMs: 60_000 })],
      svidsBySigner: new Map([['kid-0', 1]]),
    });
    expect(result.journal.authorities.map((a) => a.id)).toEqual(['aa01', 'aa02', 'kid-1', 'kid-0']);
  });

  it('shortens the grace period when another KeyRevocation for the key asks for less', () => {
    const tainted = advanceRevocations({
      journal: selfSigned,
      now: NOW,
      plans: [accepted({ reason: 'PolicyChange', gracePeriodMs: 3_600_000 })],
      svidsBySigner: new Map(),
    });
    expect(tainted.nextCheckAt).toEqual(new Date(NOW.getTime() + 3_600_000));
    const later = new Date(NOW.getTime() + 1000);
    const compromise = request({ name: 'compromise', reason: 'KeyCompromise', gracePeriodMs: 0 });
    const hastened = advanceRevocations({
      journal: tainted.journal,
      now: later,
      plans: [],
      followers: [compromise, request({ name: 'slow', gracePeriodMs: 7_200_000 })],
      svidsBySigner: new Map(),
    });
    expect(hastened.steps.map((s) => s.step)).toEqual(['Hastened', 'Revoked']);
    expect(hastened.journal.revocations[0]?.gracePeriodMs).toBe(0);
    expect(hastened.journal.revoked).toEqual([{ type: 'X509', id: 'aa01' }]);
  });

  it('records one revocation when two ask for the same key', () => {
    const result = advanceRevocations({
      journal: selfSigned,
      now: NOW,
      plans: [accepted(), accepted({ name: 'duplicate' })],
      svidsBySigner: new Map([['aa01', 1]]),
    });
    expect(result.journal.revocations.map((r) => r.requestedBy)).toEqual(['leak']);
  });

  it('revokes an upstream root together with the intermediates under it', () => {
    const journal = journalOf([
      x509('aa10', 'Old', 'root-a'),
      x509('aa11', 'Active', 'root-a'),
      x509('aa12', 'Active', 'root-b'),
    ]);
    const upstreamPlan = plan(
      assessRevocation(
        request({ kind: 'UpstreamX509', id: 'root-a' }),
        context({
          journal,
          upstream: { secret: 'ns/up', rootIds: ['root-a', 'root-b'], signerRootId: 'root-b' },
        }),
      ),
    );
    const result = advanceRevocations({ journal, now: NOW, plans: [upstreamPlan], svidsBySigner: new Map() });
    expect(result.journal.authorities.map((a) => a.id)).toEqual(['aa12']);
    expect(result.journal.revoked).toEqual([
      { type: 'UpstreamX509', id: 'root-a' },
      { type: 'X509', id: 'aa10' },
      { type: 'X509', id: 'aa11' },
    ]);
    expect(revokedUpstreamRoot(result.journal, 'root-a')?.requestedBy).toBe('leak');
    expect(revokedUpstreamRoot(result.journal, 'root-b')).toBeUndefined();
  });
});

describe('noteReplacements', () => {
  it('names the active authority of the rotated type, once', () => {
    const tainted = advanceRevocations({
      journal: selfSigned,
      now: NOW,
      plans: [plan(assessRevocation(request(), context()))],
      svidsBySigner: new Map([['aa01', 1]]),
    }).journal;
    // What advanceAuthorities does next: a new authority takes over.
    const activated: Journal = {
      ...tainted,
      authorities: [...tainted.authorities, x509('aa03', 'Active')],
    };
    const noted = noteReplacements(activated);
    expect(noted.revocations[0]?.replacedBy).toBe('aa03');
    expect(noteReplacements(noted)).toBe(noted);
    expect(noteReplacements(selfSigned)).toBe(selfSigned);
  });
});

describe('svidSigners', () => {
  it('reads the X.509 authority annotation and each JWT-SVID kid, skipping what is not a JWT', async () => {
    const { privateKey } = await promisify(generateKeyPair)('ec', { namedCurve: 'P-256' });
    const token = await new SignJWT({ sub: 'spiffe://example.org/a' })
      .setProtectedHeader({ alg: 'ES256', kid: 'kid-1' })
      .sign(privateKey);
    const signers = svidSigners({
      annotations: { [ANNOTATION_SVID_AUTHORITY_ID]: 'AA01' },
      jwtKeys: ['token', 'broken', 'absent'],
      data: { token: `${token}\n`, broken: 'not a jwt' },
    });
    expect(signers).toEqual(['aa01', 'kid-1']);
    expect(countBySigner([signers, ['aa01'], []])).toEqual(
      new Map([
        ['aa01', 2],
        ['kid-1', 1],
      ]),
    );
  });
});

describe('keyRevocationView', () => {
  const taint = (svids: number, grace = 0) =>
    advanceRevocations({
      journal: selfSigned,
      now: NOW,
      plans: [plan(assessRevocation(request({ gracePeriodMs: grace }), context()))],
      svidsBySigner: new Map([['aa01', svids]]),
    }).journal;
  const seen = (remaining: number, now: Date, validatedAt: string | undefined, published = true) => ({
    remaining,
    now,
    validatedAt,
    published,
    trustDomainProblem: undefined,
    waitingOn: [],
  });
  const recorded = (journal: Journal, name = 'leak') =>
    assessRevocation(request({ name }), context({ journal }));

  it('shows a refusal as Failed with its code, and that nothing changed', () => {
    const view = keyRevocationView(
      assessRevocation(request({ id: 'ff00' }), context()),
      seen(0, NOW, undefined),
    );
    expect(view.phase).toBe('Failed');
    expect(view.condition).toMatchObject({ status: 'False', reason: 'UnknownAuthority' });
    expect(view.condition.message).toMatch(/nothing was changed$/);
  });

  it('shows an accepted revocation as Pending, validated now', () => {
    const view = keyRevocationView(assessRevocation(request(), context()), seen(0, NOW, undefined));
    expect(view).toMatchObject({ phase: 'Pending', fields: { validatedAt: NOW.toISOString() } });
  });

  it('counts re-issued SVIDs while tainted, then the grace period, then Revoked', () => {
    const journal = taint(10, 60_000);
    const reissuing = keyRevocationView(recorded(journal), seen(4, NOW, '2030-06-01T11:59:59.000Z'));
    expect(reissuing.phase).toBe('Tainted');
    expect(reissuing.condition.reason).toBe('Reissuing');
    expect(reissuing.condition.message).toContain('4 of 10 SVIDs');
    const entries = ['a/one', 'a/two', 'b/three', 'b/four', 'c/five', 'c/six', 'd/seven'];
    const named = keyRevocationView(recorded(journal), { ...seen(7, NOW, undefined), waitingOn: entries });
    expect(named.condition.message).toContain(
      'in the Secrets of a/one, a/two, b/three, b/four, c/five and 2 more',
    );
    expect(reissuing.fields).toEqual({
      validatedAt: '2030-06-01T11:59:59.000Z',
      taintedAt: NOW.toISOString(),
      rotatedAt: NOW.toISOString(),
      affectedSVIDs: 10,
      reissuedSVIDs: 6,
      outstandingPodCertificates: 0,
    });
    const later = new Date(NOW.getTime() + 1000);
    const waiting = advanceRevocations({ journal, now: later, plans: [], svidsBySigner: new Map() }).journal;
    const grace = keyRevocationView(recorded(waiting), seen(0, later, undefined));
    expect(grace.condition.reason).toBe('GracePeriod');
    expect(grace.condition.message).toContain(new Date(later.getTime() + 60_000).toISOString());
    expect(grace.fields.reissuedSVIDs).toBe(10);
    const end = new Date(later.getTime() + 60_000);
    const done = advanceRevocations({
      journal: waiting,
      now: end,
      plans: [],
      svidsBySigner: new Map(),
    }).journal;
    const publishing = keyRevocationView(recorded(done), seen(0, end, undefined, false));
    expect(publishing).toMatchObject({ phase: 'Tainted', condition: { reason: 'Publishing' } });
    expect(publishing.fields.revokedAt).toBeUndefined();
    const revoked = keyRevocationView(recorded(done), seen(0, end, undefined));
    expect(revoked.phase).toBe('Revoked');
    expect(revoked.condition).toMatchObject({ status: 'True', reason: 'Revoked' });
    expect(revoked.fields.revokedAt).toBe(end.toISOString());
  });

  it('says when another KeyRevocation carried the revocation out, or the key was revoked before', () => {
    const done = taint(0);
    const other = keyRevocationView(recorded(done, 'second'), seen(0, NOW, undefined));
    expect(other).toMatchObject({ phase: 'Revoked', condition: { reason: 'AlreadyRevoked' } });
    expect(other.condition.message).toContain('carried out for KeyRevocation leak');
    const before = keyRevocationView({ state: 'alreadyRevoked' }, seen(0, NOW, undefined));
    expect(before).toMatchObject({
      phase: 'Revoked',
      condition: { status: 'True', reason: 'AlreadyRevoked' },
    });
  });
});

describe('trustDomainRevocations', () => {
  it('lists each revocation with its state, never key material', () => {
    const tainted = advanceRevocations({
      journal: selfSigned,
      now: NOW,
      plans: [plan(assessRevocation(request({ gracePeriodMs: 1000 }), context()))],
      svidsBySigner: new Map([['aa01', 1]]),
    }).journal;
    expect(trustDomainRevocations(tainted)).toEqual([
      { keyRevocation: 'leak', kind: 'X509', id: 'aa01', state: 'Tainted', taintedAt: NOW.toISOString() },
    ]);
    expect(JSON.stringify(trustDomainRevocations(tainted))).not.toContain('PRIVATE KEY');
  });
});

describe('gracePeriodMs', () => {
  it('is 2 minutes by default, 0 for KeyCompromise, and what the spec says when set', () => {
    expect(gracePeriodMs({ reason: 'PolicyChange' })).toBe(120_000);
    expect(gracePeriodMs({ reason: 'Superseded' })).toBe(120_000);
    expect(gracePeriodMs({ reason: 'KeyCompromise' })).toBe(0);
    expect(gracePeriodMs({ reason: 'KeyCompromise', gracePeriod: '30s' })).toBe(30_000);
    expect(gracePeriodMs({ reason: 'KeyStorageLost', gracePeriod: '0s' })).toBe(0);
  });
});

describe('bundlePublished and trustDomainProblem', () => {
  const condition = (type: string, status: 'True' | 'False', reason: string) => ({
    type,
    status,
    reason,
    message: `${reason} message`,
    lastTransitionTime: NOW.toISOString(),
  });
  const status = (sequence: number, ...conditions: ReturnType<typeof condition>[]) => ({
    bundleSequence: sequence,
    conditions,
  });
  const ready = condition('Ready', 'True', 'AuthoritiesActive');
  const published = condition('BundlePublished', 'True', 'Published');

  it('holds once the TrustDomain reports the journal sequence and every copy out', () => {
    expect(bundlePublished(status(5, ready, published), 5)).toBe(true);
    expect(bundlePublished(status(6, ready, published), 5)).toBe(true);
    expect(bundlePublished(status(4, ready, published), 5)).toBe(false);
    expect(bundlePublished(status(5, ready), 5)).toBe(false);
    expect(bundlePublished(undefined, 1)).toBe(false);
  });

  it('holds while the TrustDomain cannot mint: Ready keeps the problem, the bundle still went out', () => {
    for (const reason of ['UpstreamNotFound', 'UpstreamInvalid', 'UpstreamRevoked', 'LifetimeTooShort']) {
      expect(bundlePublished(status(5, condition('Ready', 'False', reason), published), 5)).toBe(true);
    }
  });

  it('does not hold while a copy, the OIDC document or the ClusterTrustBundle failed, or the bundle is too large', () => {
    const failed = condition('BundlePublished', 'False', 'PublishFailed');
    expect(bundlePublished(status(5, ready, failed), 5)).toBe(false);
    const oidc = condition('Ready', 'False', 'OIDCNotPublished');
    expect(bundlePublished(status(5, oidc, failed), 5)).toBe(false);
    const tooLarge = condition('BundlePublished', 'False', 'BundleTooLarge');
    expect(bundlePublished(status(5, condition('Ready', 'False', 'BundleTooLarge'), tooLarge), 5)).toBe(
      false,
    );
    // A foreign ConfigMap is not Trustline's to clean: the bundles it owns are out.
    const foreign = condition('BundlePublished', 'False', 'ForeignConfigMap');
    expect(bundlePublished(status(5, ready, foreign), 5)).toBe(true);
    expect(foreignCopies(status(5, ready, foreign))).toBe('ForeignConfigMap message');
    expect(foreignCopies(status(5, ready, published))).toBeUndefined();
  });

  it('names why a TrustDomain is not ready in the status of a revocation waiting for it', () => {
    const stuck = trustDomainProblem(status(5, condition('Ready', 'False', 'Conflict')));
    expect(stuck).toBe('Conflict: Conflict message');
    expect(trustDomainProblem(status(5, ready))).toBeUndefined();
    const view = keyRevocationView(assessRevocation(request(), context()), {
      remaining: 0,
      published: false,
      trustDomainProblem: stuck,
      waitingOn: [],
      now: NOW,
      validatedAt: undefined,
    });
    expect(view.condition.message).toContain('the TrustDomain is not ready (Conflict: Conflict message)');
  });
});

describe('a revocation a tenant cannot hold back', () => {
  const taint = (overrides: Partial<RevocationRequest>, svids: number, unwritable = 0) =>
    advanceRevocations({
      journal: selfSigned,
      now: NOW,
      plans: [plan(assessRevocation(request(overrides), context()))],
      svidsBySigner: new Map([['aa01', svids]]),
      unwritableBySigner: new Map([['aa01', unwritable]]),
    });
  const at = (journal: Journal, offsetMs: number, svids: number, unwritable = 0) =>
    advanceRevocations({
      journal,
      now: new Date(NOW.getTime() + offsetMs),
      plans: [],
      svidsBySigner: new Map([['aa01', svids]]),
      unwritableBySigner: new Map([['aa01', unwritable]]),
    });

  it('KeyCompromise does not wait for a Secret its tenant made unwritable', () => {
    const result = taint({ reissueTimeoutMs: HOUR }, 0, 2);
    expect(result.steps.map((s) => s.step)).toEqual(['Tainted', 'Reissued', 'Revoked']);
    expect(result.journal.revocations[0]).toMatchObject({ affectedSVIDs: 2, abandonedSVIDs: 2 });
  });

  it('another reason waits for unwritable Secrets until its re-issue timeout, then goes on without them', () => {
    const tainted = taint({ reason: 'PolicyChange', reissueTimeoutMs: 30_000 }, 1, 1);
    expect(tainted.steps.map((s) => s.step)).toEqual(['Tainted']);
    expect(tainted.nextCheckAt).toEqual(new Date(NOW.getTime() + 30_000));
    expect(at(tainted.journal, 29_999, 0, 1).steps).toEqual([]);
    const moved = at(tainted.journal, 30_000, 0, 1);
    expect(moved.steps.map((s) => s.step)).toEqual(['Reissued', 'Revoked']);
    expect(moved.journal.revocations[0]?.abandonedSVIDs).toBe(1);
    const [step] = moved.steps;
    expect(step && revocationStepMessage('Reissued', step.record)).toContain(
      'stopped waiting for re-issuing after 30s: 1 SVIDs',
    );
  });

  it('waits for Trustline to re-issue at most the timeout, for KeyCompromise too', () => {
    const tainted = taint({ reissueTimeoutMs: 60_000 }, 3);
    expect(tainted.steps.map((s) => s.step)).toEqual(['Tainted']);
    expect(at(tainted.journal, 59_000, 3).steps).toEqual([]);
    expect(at(tainted.journal, 60_000, 3).steps.map((s) => s.step)).toEqual(['Reissued', 'Revoked']);
  });

  it('names the signers whose revocations no longer wait, revoked ones too, so their SVIDs are withdrawn', () => {
    const tainted = taint({ reason: 'Superseded', gracePeriodMs: HOUR, reissueTimeoutMs: 60_000 }, 1).journal;
    expect(abandonedSigners(tainted, new Date(NOW.getTime() + 59_000))).toEqual(new Set());
    expect(abandonedSigners(tainted, new Date(NOW.getTime() + 60_000))).toEqual(new Set(['aa01']));
    const reissued = at(tainted, 60_000, 0).journal;
    const revoked = at(reissued, 60_000 + HOUR, 0).journal;
    expect(inProgress(revoked)).toEqual([]);
    expect(abandonedSigners(revoked, new Date(NOW.getTime() + 2 * HOUR))).toEqual(new Set(['aa01']));
  });

  it("gives an entry AuthorityRevoked, not TrustDomainNotReady, once its Secret's signer is cut off", () => {
    const tainted = taint({ reason: 'Superseded', gracePeriodMs: HOUR, reissueTimeoutMs: 60_000 }, 1).journal;
    const held = (annotations: Record<string, string>) => ({ data: {}, annotations, ownedByEntry: true });
    const signedBy = held({ [ANNOTATION_SVID_AUTHORITY_ID]: 'AA01' });
    const past = new Date(NOW.getTime() + 60_000);
    expect(notReadyReason(signedBy, [], tainted, new Date(NOW.getTime() + 59_000))).toBe(
      'TrustDomainNotReady',
    );
    expect(notReadyReason(signedBy, [], tainted, past)).toBe('AuthorityRevoked');
    expect(notReadyReason(held({ [ANNOTATION_SVID_AUTHORITY_ID]: 'bb02' }), [], tainted, past)).toBe(
      'TrustDomainNotReady',
    );
    // A Secret already withdrawn remembers the signers it held, so its reason stays.
    const withdrawn = held({
      [ANNOTATION_SVID_WITHDRAWN]: 'AuthorityRevoked',
      [ANNOTATION_WITHDRAWN_SIGNERS]: 'aa01',
    });
    expect(notReadyReason(withdrawn, [], tainted, past)).toBe('AuthorityRevoked');
    expect(notReadyReason(undefined, [], tainted, past)).toBe('TrustDomainNotReady');
    expect(notReadyReason(signedBy, [], undefined, past)).toBe('TrustDomainNotReady');
  });

  it('a record written before the timeout existed waits for re-issuing unless the key was compromised', () => {
    const legacy = (reason: RevocationRequest['reason']) => {
      const journal = taint({ reason }, 1).journal;
      const [record] = journal.revocations;
      if (!record) throw new Error('no record');
      const { reissueTimeoutMs: _dropped, ...old } = record;
      return { ...journal, revocations: [old] };
    };
    expect(at(legacy('PolicyChange'), 100 * HOUR, 1).steps).toEqual([]);
    expect(at(legacy('KeyCompromise'), 0, 1).steps.map((s) => s.step)).toEqual(['Reissued', 'Revoked']);
  });

  it('reissueTimeoutMs defaults to 10 minutes, 1 minute for KeyCompromise, and follows the spec', () => {
    expect(reissueTimeoutMs({ reason: 'PolicyChange' })).toBe(600_000);
    expect(reissueTimeoutMs({ reason: 'KeyCompromise' })).toBe(60_000);
    expect(reissueTimeoutMs({ reason: 'KeyCompromise', reissueTimeout: '5s' })).toBe(5_000);
  });

  it('reaches Revoked past a ConfigMap a tenant took over, naming it instead of waiting for it', () => {
    const journal = taint({}, 0).journal;
    const view = keyRevocationView(assessRevocation(request(), context({ journal })), {
      remaining: 0,
      now: NOW,
      validatedAt: undefined,
      published: true,
      trustDomainProblem: 'UpstreamNotFound: upstream CA Secret t/up does not exist',
      foreignCopies: "a ConfigMap of the bundle's name that Trustline did not create exists in: hostile",
      waitingOn: [],
    });
    expect(view.phase).toBe('Revoked');
    expect(view.condition.message).toContain(
      "copies Trustline does not own were left as they are (a ConfigMap of the bundle's name that Trustline did not create exists in: hostile)",
    );
  });

  it('names withdrawn and unwritable SVIDs in the status, counting all and listing the first ones', () => {
    const journal = taint({}, 1).journal;
    const withdrawn = Array.from({ length: 25 }, (_, i) => `t/w${String(i).padStart(2, '0')}`);
    const view = keyRevocationView(assessRevocation(request(), context({ journal })), {
      remaining: 1,
      now: NOW,
      validatedAt: undefined,
      published: true,
      trustDomainProblem: undefined,
      waitingOn: ['a/one'],
      withdrawn,
      unwritable: ['t/frozen'],
    });
    expect(view.fields).toMatchObject({ withdrawnSVIDs: 25, unwritableSVIDs: 1, unwritable: ['t/frozen'] });
    expect(view.fields.withdrawn).toEqual(withdrawn.slice(0, 20));
    expect(view.condition.message).toContain(
      'SVIDs not re-issued: withdrawn from t/w00, t/w01, t/w02, t/w03, t/w04 and 20 more; left in unwritable Secrets of t/frozen, not waited for',
    );
  });
});
