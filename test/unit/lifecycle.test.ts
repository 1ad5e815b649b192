import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { journalProblems } from '../../src/core/authorities/journal-problems.ts';
import {
  type AdvanceResult,
  type AuthorityChange,
  activateAt,
  advanceAuthorities,
  type MintAuthority,
  prepareAt,
} from '../../src/core/authorities/lifecycle.ts';
import {
  type Authority,
  type AuthorityPolicy,
  type AuthorityType,
  emptyJournal,
  type Journal,
  type JwtAuthority,
  type X509Authority,
} from '../../src/core/authorities/model.ts';
import { x509 } from '../../src/core/authorities/x509.ts';
import { buildTrustBundle, type UpstreamRoot } from '../../src/core/bundle/trust-bundle.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const T0 = new Date('2030-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const iso = (d: Date) => d.toISOString();

const policyOf = (x509TtlMs: number, jwtTtlMs: number): AuthorityPolicy => ({
  x509: { keyType: 'EC-P256', ttlMs: x509TtlMs },
  jwt: { algorithm: 'ES256', ttlMs: jwtTtlMs },
});

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

/** A real self-signed CA certificate; its id is its subject key identifier. */
const realCa = async (notBefore: Date, notAfter: Date, cn: string) => {
  const keys = await crypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${cn}`,
    notBefore,
    notAfter,
    signingAlgorithm: EC,
    keys,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), ski],
  });
  return { id: ski.keyId.toLowerCase(), pem: cert.toString('pem') };
};

/** Numbers the fake authorities, unique across fakes. */
let serial = 0;

interface Clock {
  now: Date;
}

interface FakeMint {
  mint: MintAuthority;
  minted: Authority[];
}

/**
 * Deterministic authorities valid from the clock's now for the policy's TTL. X.509 certificates are
 * a dummy string unless `real`, then real self-signed CAs.
 */
const fakeMint = (
  clock: Clock,
  policy: AuthorityPolicy,
  options: { real?: boolean; signer?: () => string | undefined } = {},
): FakeMint => {
  const minted: Authority[] = [];
  const mint: MintAuthority = async (type) => {
    serial += 1;
    const n = serial;
    const notBefore = clock.now;
    let authority: Authority;
    if (type === 'X509') {
      const notAfter = new Date(notBefore.getTime() + policy.x509.ttlMs);
      const cert = options.real
        ? await realCa(notBefore, notAfter, `ca-${n}`)
        : { id: n.toString(16).padStart(8, '0'), pem: 'dummy certificate' };
      const signerId = options.signer?.();
      authority = {
        type: 'X509',
        id: cert.id,
        state: 'Prepared',
        notBefore: iso(notBefore),
        notAfter: iso(notAfter),
        privateKey: 'dummy private key',
        keyType: policy.x509.keyType,
        certificate: cert.pem,
        ...(signerId === undefined ? {} : { upstream: { signerId, rootId: signerId, chain: [] } }),
      };
    } else {
      authority = {
        type: 'JWT',
        id: `kid-${n}`,
        state: 'Prepared',
        notBefore: iso(notBefore),
        notAfter: iso(new Date(notBefore.getTime() + policy.jwt.ttlMs)),
        privateKey: 'dummy private key',
        algorithm: policy.jwt.algorithm,
        publicKey: { kty: 'EC', crv: 'P-256', x: `x${n}`, y: `y${n}` },
      };
    }
    minted.push(authority);
    return authority;
  };
  return { mint, minted };
};

const refuseMint: MintAuthority = async (type) => {
  throw new Error(`unexpected mint of a ${type} authority`);
};

const ofType = (journal: Journal, type: AuthorityType) => journal.authorities.filter((a) => a.type === type);
const activeOf = (journal: Journal, type: AuthorityType): Authority => {
  const actives = ofType(journal, type).filter((a) => a.state === 'Active');
  expect(actives, `${type} Active authorities`).toHaveLength(1);
  const [active] = actives;
  if (active === undefined) throw new Error('unreachable');
  return active;
};
const summary = (changes: readonly AuthorityChange[]) =>
  changes.map((c) => `${c.type} ${c.from ?? 'new'}->${c.to} ${c.reason}`);

const expectIdempotent = async (
  result: AdvanceResult,
  now: Date,
  policy: AuthorityPolicy,
  signer?: string,
) => {
  const again = await advanceAuthorities({
    journal: result.journal,
    now,
    policy,
    mint: refuseMint,
    upstreamSignerId: signer,
  });
  expect(again.changes).toEqual([]);
  expect(again.journal).toEqual(result.journal);
  expect(again.nextCheckAt).toEqual(result.nextCheckAt);
};

const TYPES: AuthorityType[] = ['X509', 'JWT'];

const spiffeBundleSchema = z.object({
  keys: z.array(
    z.object({ use: z.string(), kid: z.string().optional(), x5c: z.array(z.string()).optional() }),
  ),
});

interface SimulationOptions {
  policy: AuthorityPolicy;
  stepMs: number;
  durationMs: number;
  svidTtlMs: number;
  /** The upstream signer at each instant; self-signed throughout when absent. */
  signerAt?: (now: Date) => string | undefined;
  upstreamRoots?: UpstreamRoot[];
}

interface Svid {
  type: AuthorityType;
  signer: Authority;
  notAfter: number;
}

/**
 * Drives the lifecycle with a fake clock and checks, at every step: one valid Active per type, a
 * consistent journal, thresholds hit exactly, expired records pruned exactly at expiry, nothing
 * happening before nextCheckAt and something happening at it, idempotence, and that the trust bundle
 * holds the signer of every unexpired SVID.
 */
const simulate = async (options: SimulationOptions) => {
  const { policy, stepMs, durationMs, svidTtlMs, signerAt = () => undefined } = options;
  const clock: Clock = { now: T0 };
  const fake = fakeMint(clock, policy, { real: true, signer: () => signerAt(clock.now) });
  const derOf = new Map<string, string>();
  const upstreamDer = new Map<string, string>();
  for (const root of options.upstreamRoots ?? []) {
    upstreamDer.set(new X509Certificate(root.certificate).raw.toString('base64'), root.id);
  }
  let journal = emptyJournal('example.org');
  let nextCheckAt: Date | undefined;
  let previousSigner: string | undefined;
  let svids: Svid[] = [];
  const log: { now: Date; changes: AuthorityChange[] }[] = [];

  for (let t = 0; t <= durationMs; t += stepMs) {
    const now = at(t);
    clock.now = now;
    const signer = signerAt(now);
    const before = journal;
    const result = await advanceAuthorities({
      journal,
      now,
      policy,
      mint: fake.mint,
      upstreamSignerId: signer,
    });
    journal = result.journal;
    for (const a of fake.minted) {
      if (a.type === 'X509' && !derOf.has(a.id)) {
        derOf.set(a.id, new X509Certificate(a.certificate).raw.toString('base64'));
      }
    }
    if (result.changes.length > 0) log.push({ now, changes: result.changes });

    // Collected and asserted once per step: thousands of steps make single expects slow.
    const problems = journalProblems(journal);
    const fail = (message: string) => problems.push(`${iso(now)}: ${message}`);
    for (const type of TYPES) {
      const actives = ofType(journal, type).filter((a) => a.state === 'Active');
      const [active] = actives;
      if (actives.length !== 1 || active === undefined) fail(`${actives.length} ${type} Active`);
      else if (
        !(Date.parse(active.notBefore) <= now.getTime() && now.getTime() < Date.parse(active.notAfter))
      ) {
        fail(`${type} Active ${active.id} not valid`);
      }
    }
    for (const a of journal.authorities) {
      if (Date.parse(a.notAfter) <= now.getTime()) fail(`${a.type} ${a.id} expired but not pruned`);
    }

    const signerChanged = t > 0 && signer !== previousSigner;
    previousSigner = signer;
    for (const c of result.changes) {
      const previous = before.authorities.find((a) => a.type === c.type && a.id === c.id);
      const was = before.authorities.find((a) => a.type === c.type && a.state === 'Active');
      if (c.reason === 'PrepareThreshold' && (was === undefined || iso(prepareAt(was)) !== iso(now))) {
        fail(`${c.type} ${c.id} prepared off its threshold`);
      }
      if (
        c.reason === 'ActivateThreshold' &&
        c.to === 'Old' &&
        (previous === undefined || iso(activateAt(previous)) !== iso(now))
      ) {
        fail(`${c.type} ${c.id} retired off its activation threshold`);
      }
      if (c.to === 'Pruned' && c.reason === 'Expired' && previous?.notAfter !== iso(now)) {
        fail(`${c.type} ${c.id} pruned at the wrong time`);
      }
      if (
        t > 0 &&
        !signerChanged &&
        !['PrepareThreshold', 'ActivateThreshold', 'Expired'].includes(c.reason)
      ) {
        fail(`unexpected change ${c.type} ${c.id} ${c.reason}`);
      }
    }
    if (nextCheckAt !== undefined && !signerChanged) {
      if (now < nextCheckAt && result.changes.length > 0) fail(`changes before ${iso(nextCheckAt)}`);
      if (now.getTime() === nextCheckAt.getTime() && result.changes.length === 0)
        fail('nothing at nextCheckAt');
    }
    if (result.nextCheckAt <= now) fail(`nextCheckAt ${iso(result.nextCheckAt)} not in the future`);
    nextCheckAt = result.nextCheckAt;

    // Every SVID still valid must verify against the bundle published now.
    const upstreamRoots = signer === undefined ? undefined : options.upstreamRoots;
    for (const a of journal.authorities) {
      if (a.state === 'Active') {
        const notAfter = Math.min(now.getTime() + svidTtlMs, Date.parse(a.notAfter));
        svids.push({ type: a.type, signer: a, notAfter });
      }
    }
    svids = svids.filter((svid) => svid.notAfter > now.getTime());
    const bundle = buildTrustBundle({ journal, now, upstreamRoots, refreshHintSeconds: 300 });
    const { keys } = spiffeBundleSchema.parse(JSON.parse(bundle.files['bundle.spiffe.json']));
    const x5cs = new Set(keys.flatMap((k) => (k.use === 'x509-svid' ? (k.x5c ?? []) : [])));
    const kids = new Set(keys.flatMap((k) => (k.use === 'jwt-svid' && k.kid !== undefined ? [k.kid] : [])));
    const publishedRoots = new Set([...x5cs].flatMap((der) => upstreamDer.get(der) ?? []));
    for (const { signer: s } of svids) {
      const published =
        s.type === 'JWT'
          ? kids.has(s.id)
          : s.upstream !== undefined && upstreamRoots !== undefined
            ? publishedRoots.has(s.upstream.signerId)
            : x5cs.has(derOf.get(s.id) ?? '');
      if (!published) fail(`${s.type} ${s.id} signed a valid SVID but is not in the bundle`);
    }
    expect(problems).toEqual([]);
    await expectIdempotent(result, now, policy, signer);
  }
  return { journal, log, minted: fake.minted };
};

const transitions = (log: { now: Date; changes: AuthorityChange[] }[], type: AuthorityType) =>
  log.flatMap(({ now, changes }) =>
    changes.filter((c) => c.type === type).map((c) => `${iso(now)} ${c.from ?? 'new'}->${c.to} ${c.reason}`),
  );

/** One call of the lifecycle with the shared policy and a fake mint. */
const advanceWith = (fake: { mint: MintAuthority }, journal: Journal, now: Date, policy: AuthorityPolicy) =>
  advanceAuthorities({ journal, now, policy, mint: fake.mint });

describe('thresholds', () => {
  const authority = (lifetimeMs: number) => ({ notBefore: iso(T0), notAfter: iso(at(lifetimeMs)) });

  it('prepares at half the lifetime and activates at five sixths for short lifetimes', () => {
    expect(prepareAt(authority(DAY))).toEqual(at(12 * HOUR));
    expect(activateAt(authority(DAY))).toEqual(at(20 * HOUR));
    expect(prepareAt(authority(6 * HOUR))).toEqual(at(3 * HOUR));
    expect(activateAt(authority(6 * HOUR))).toEqual(at(5 * HOUR));
  });

  it('caps the lead time at 30 days for preparing and 7 days for activating', () => {
    expect(prepareAt(authority(60 * DAY))).toEqual(at(30 * DAY));
    expect(activateAt(authority(60 * DAY))).toEqual(at(53 * DAY));
    expect(prepareAt(authority(90 * DAY))).toEqual(at(60 * DAY));
    expect(activateAt(authority(90 * DAY))).toEqual(at(83 * DAY));
    expect(prepareAt(authority(3650 * DAY))).toEqual(at(3620 * DAY));
    expect(activateAt(authority(3650 * DAY))).toEqual(at(3643 * DAY));
  });
});

describe('advanceAuthorities over whole lifetimes', { timeout: 120_000 }, () => {
  it('rotates 24h X.509 and 18h JWT authorities minute by minute for 5 days', async () => {
    const policy = policyOf(DAY, 18 * HOUR);
    const { log, journal } = await simulate({ policy, stepMs: MINUTE, durationMs: 5 * DAY, svidTtlMs: HOUR });

    expect(transitions(log, 'X509').slice(0, 10)).toEqual([
      '2030-01-01T00:00:00.000Z new->Active Bootstrap',
      '2030-01-01T12:00:00.000Z new->Prepared PrepareThreshold',
      '2030-01-01T20:00:00.000Z Active->Old ActivateThreshold',
      '2030-01-01T20:00:00.000Z Prepared->Active ActivateThreshold',
      '2030-01-02T00:00:00.000Z new->Prepared PrepareThreshold',
      '2030-01-02T00:00:00.000Z Old->Pruned Expired',
      '2030-01-02T08:00:00.000Z Active->Old ActivateThreshold',
      '2030-01-02T08:00:00.000Z Prepared->Active ActivateThreshold',
      '2030-01-02T12:00:00.000Z new->Prepared PrepareThreshold',
      '2030-01-02T12:00:00.000Z Old->Pruned Expired',
    ]);
    expect(transitions(log, 'JWT').slice(0, 6)).toEqual([
      '2030-01-01T00:00:00.000Z new->Active Bootstrap',
      '2030-01-01T09:00:00.000Z new->Prepared PrepareThreshold',
      '2030-01-01T15:00:00.000Z Active->Old ActivateThreshold',
      '2030-01-01T15:00:00.000Z Prepared->Active ActivateThreshold',
      '2030-01-01T18:00:00.000Z new->Prepared PrepareThreshold',
      '2030-01-01T18:00:00.000Z Old->Pruned Expired',
    ]);
    // Steady state: at most Active, Old and Prepared of each type.
    expect(ofType(journal, 'X509').length).toBeLessThanOrEqual(3);
    expect(
      transitions(log, 'X509').filter((c) => c.includes('Prepared->Active')).length,
    ).toBeGreaterThanOrEqual(9);
  });

  it('caps the lead times with 60-day authorities stepped hourly over four lifetimes', async () => {
    const policy = policyOf(60 * DAY, 60 * DAY);
    const { log } = await simulate({ policy, stepMs: HOUR, durationMs: 240 * DAY, svidTtlMs: 2 * DAY });
    expect(transitions(log, 'X509').slice(0, 6)).toEqual([
      '2030-01-01T00:00:00.000Z new->Active Bootstrap',
      '2030-01-31T00:00:00.000Z new->Prepared PrepareThreshold',
      // notAfter − 7 days (the cap), not notAfter − 10 days (a sixth).
      '2030-02-23T00:00:00.000Z Active->Old ActivateThreshold',
      '2030-02-23T00:00:00.000Z Prepared->Active ActivateThreshold',
      // The successor was prepared on day 30: its prepare threshold is day 60.
      '2030-03-02T00:00:00.000Z new->Prepared PrepareThreshold',
      '2030-03-02T00:00:00.000Z Old->Pruned Expired',
    ]);
  });

  it('caps the prepare lead time at 30 days with 90-day authorities', async () => {
    const policy = policyOf(90 * DAY, 30 * DAY);
    const { log } = await simulate({ policy, stepMs: HOUR, durationMs: 270 * DAY, svidTtlMs: 24 * HOUR });
    expect(transitions(log, 'X509').slice(0, 4)).toEqual([
      '2030-01-01T00:00:00.000Z new->Active Bootstrap',
      // notAfter − 30 days (the cap), not notAfter − 45 days (half).
      '2030-03-02T00:00:00.000Z new->Prepared PrepareThreshold',
      '2030-03-25T00:00:00.000Z Active->Old ActivateThreshold',
      '2030-03-25T00:00:00.000Z Prepared->Active ActivateThreshold',
    ]);
  });

  it('rotates at once when the upstream signer is added, changed or removed, keeping old signers verifiable', async () => {
    const policy = policyOf(DAY, DAY);
    const rootA = await realCa(at(-DAY), at(365 * DAY), 'upstream-a');
    const rootB = await realCa(at(-DAY), at(365 * DAY), 'upstream-b');
    const signerAt = (now: Date) => {
      const t = now.getTime() - T0.getTime();
      if (t < 30 * HOUR) return undefined;
      if (t < 47 * HOUR) return rootA.id;
      if (t < 75 * HOUR + 30 * MINUTE) return rootB.id;
      return undefined;
    };
    const { log } = await simulate({
      policy,
      stepMs: MINUTE,
      durationMs: 5 * DAY,
      svidTtlMs: HOUR,
      signerAt,
      upstreamRoots: [
        { id: rootA.id, certificate: rootA.pem, notAfter: iso(at(365 * DAY)) },
        { id: rootB.id, certificate: rootB.pem, notAfter: iso(at(365 * DAY)) },
      ],
    });
    const changesAt = (ms: number) =>
      summary(log.find((l) => l.now.getTime() === at(ms).getTime())?.changes ?? []).filter((c) =>
        c.startsWith('X509'),
      );
    // 30h: self-signed → A. The Active one (since 20h) retires; the Prepared one (24h) is dropped.
    expect(changesAt(30 * HOUR)).toEqual([
      'X509 Prepared->Pruned UpstreamChanged',
      'X509 Active->Old UpstreamChanged',
      'X509 new->Active UpstreamChanged',
    ]);
    // 47h: A → B. The Prepared one, signed by A at 42h, is dropped too.
    expect(changesAt(47 * HOUR)).toEqual([
      'X509 Prepared->Pruned UpstreamChanged',
      'X509 Active->Old UpstreamChanged',
      'X509 new->Active UpstreamChanged',
    ]);
    expect(changesAt(75 * HOUR + 30 * MINUTE)).toContain('X509 new->Active UpstreamChanged');
    const jwtAtSwitch = log.find((l) => l.now.getTime() === at(30 * HOUR).getTime());
    expect(jwtAtSwitch?.changes.filter((c) => c.type === 'JWT')).toEqual([]);
  });
});

describe('advanceAuthorities', () => {
  const policy = policyOf(DAY, DAY);

  const bootstrap = async (now = T0, real = false) => {
    const clock = { now };
    const fake = fakeMint(clock, policy, { real });
    const result = await advanceAuthorities({
      journal: emptyJournal('example.org'),
      now,
      policy,
      mint: fake.mint,
    });
    return { result, clock, fake };
  };

  it('bootstraps an empty journal with one Active authority per type', async () => {
    const { result, fake } = await bootstrap();
    expect(summary(result.changes)).toEqual(['X509 new->Active Bootstrap', 'JWT new->Active Bootstrap']);
    expect(fake.minted.map((a) => a.type)).toEqual(['X509', 'JWT']);
    expect(result.journal.authorities.map((a) => a.state)).toEqual(['Active', 'Active']);
    expect(result.nextCheckAt).toEqual(at(12 * HOUR));
    expect(journalProblems(result.journal)).toEqual([]);
    await expectIdempotent(result, T0, policy);
  });

  it('does not modify the journal it is given', async () => {
    const { result, clock, fake } = await bootstrap();
    const input = structuredClone(result.journal);
    clock.now = at(25 * HOUR);
    const next = await advanceWith(fake, result.journal, clock.now, policy);
    expect(next.changes.length).toBeGreaterThan(0);
    expect(result.journal).toEqual(input);
  });

  it('replaces everything after an outage longer than a lifetime', async () => {
    const { result, clock, fake } = await bootstrap();
    clock.now = at(13 * HOUR);
    const prepared = await advanceWith(fake, result.journal, clock.now, policy);
    expect(prepared.journal.authorities.map((a) => a.state)).toEqual([
      'Active',
      'Prepared',
      'Active',
      'Prepared',
    ]);

    clock.now = at(10 * DAY);
    const recovered = await advanceWith(fake, prepared.journal, clock.now, policy);
    expect(summary(recovered.changes)).toEqual([
      'X509 Active->Old Expired',
      'X509 new->Active Expired',
      'X509 Old->Pruned Expired',
      'X509 Prepared->Pruned Expired',
      'JWT Active->Old Expired',
      'JWT new->Active Expired',
      'JWT Old->Pruned Expired',
      'JWT Prepared->Pruned Expired',
    ]);
    expect(recovered.journal.authorities.map((a) => [a.type, a.state, a.notBefore])).toEqual([
      ['X509', 'Active', iso(at(10 * DAY))],
      ['JWT', 'Active', iso(at(10 * DAY))],
    ]);
    expect(recovered.nextCheckAt).toEqual(at(10 * DAY + 12 * HOUR));
    await expectIdempotent(recovered, clock.now, policy);
  });

  it('activates the Prepared authority when the Active one expired during an outage', async () => {
    const { result, clock, fake } = await bootstrap();
    clock.now = at(13 * HOUR);
    const prepared = await advanceWith(fake, result.journal, clock.now, policy);
    const preparedX509 = ofType(prepared.journal, 'X509').find((a) => a.state === 'Prepared');

    // 25h: the first Active expired at 24h; the Prepared one (13h–37h) is valid and past its own
    // prepare threshold (25h), so a successor is prepared too.
    clock.now = at(25 * HOUR);
    const minted = fake.minted.length;
    const recovered = await advanceWith(fake, prepared.journal, clock.now, policy);
    expect(summary(recovered.changes).filter((c) => c.startsWith('X509'))).toEqual([
      'X509 Active->Old Expired',
      'X509 Prepared->Active Expired',
      'X509 new->Prepared PrepareThreshold',
      'X509 Old->Pruned Expired',
    ]);
    expect(activeOf(recovered.journal, 'X509').id).toBe(preparedX509?.id);
    expect(fake.minted.length - minted).toBe(2);
    await expectIdempotent(recovered, clock.now, policy);
  });

  it('prepares and activates in one call when the activation threshold passed with nothing prepared', async () => {
    const { result, clock, fake } = await bootstrap();
    clock.now = at(22 * HOUR);
    const late = await advanceWith(fake, result.journal, clock.now, policy);
    expect(summary(late.changes).filter((c) => c.startsWith('X509'))).toEqual([
      'X509 new->Prepared PrepareThreshold',
      'X509 Active->Old ActivateThreshold',
      'X509 Prepared->Active ActivateThreshold',
    ]);
    expect(late.nextCheckAt).toEqual(at(24 * HOUR));
    await expectIdempotent(late, clock.now, policy);
  });

  it('does not prepare a step before the threshold', async () => {
    const { result, fake } = await bootstrap();
    const early = await advanceAuthorities({
      journal: result.journal,
      now: at(12 * HOUR - 1),
      policy,
      mint: fake.mint,
    });
    expect(early.changes).toEqual([]);
    expect(early.nextCheckAt).toEqual(at(12 * HOUR));
    const onTime = await advanceAuthorities({
      journal: result.journal,
      now: at(12 * HOUR),
      policy,
      mint: fake.mint,
    });
    expect(summary(onTime.changes)).toEqual([
      'X509 new->Prepared PrepareThreshold',
      'JWT new->Prepared PrepareThreshold',
    ]);
  });

  it('drops a Prepared authority of another key type when the policy changes, but keeps the Active one', async () => {
    const { result, clock, fake } = await bootstrap();
    clock.now = at(13 * HOUR);
    const prepared = await advanceWith(fake, result.journal, clock.now, policy);
    const changed: AuthorityPolicy = { ...policy, x509: { keyType: 'EC-P384', ttlMs: DAY } };
    const refake = fakeMint(clock, changed);
    const next = await advanceAuthorities({
      journal: prepared.journal,
      now: clock.now,
      policy: changed,
      mint: refake.mint,
    });
    expect(summary(next.changes)).toEqual([
      'X509 Prepared->Pruned PolicyChanged',
      'X509 new->Prepared PrepareThreshold',
    ]);
    expect(ofType(next.journal, 'X509').map((a) => a.type === 'X509' && [a.state, a.keyType])).toEqual([
      ['Active', 'EC-P256'],
      ['Prepared', 'EC-P384'],
    ]);
  });

  it('turns live authorities whose id is revoked into Revoked ones, never republished, and prunes them at expiry', async () => {
    const { result, clock, fake } = await bootstrap(T0, true);
    const jwt = activeOf(result.journal, 'JWT');
    const journal: Journal = { ...result.journal, revoked: [{ type: 'JWT', id: jwt.id }] };
    expect(journalProblems(journal)).toEqual([`JWT authority ${jwt.id} is revoked but in state Active`]);
    clock.now = at(HOUR);
    const next = await advanceAuthorities({ journal, now: clock.now, policy, mint: fake.mint });
    expect(summary(next.changes)).toEqual(['JWT Active->Revoked RevokedId', 'JWT new->Active NoActive']);
    expect(journalProblems(next.journal)).toEqual([]);
    const bundle = buildTrustBundle({ journal: next.journal, now: clock.now, refreshHintSeconds: 300 });
    expect(bundle.files['bundle.spiffe.json']).not.toContain(jwt.id);

    clock.now = at(DAY);
    const pruned = await advanceWith(fake, next.journal, clock.now, policy);
    expect(summary(pruned.changes)).toContain('JWT Revoked->Pruned Expired');
    expect(pruned.journal.revoked).toEqual([{ type: 'JWT', id: jwt.id }]);
  });

  it('records a pruned Revoked authority in journal.revoked if it was missing', async () => {
    const { result } = await bootstrap();
    const x = activeOf(result.journal, 'X509');
    const journal: Journal = {
      ...result.journal,
      authorities: result.journal.authorities.map((a) => (a.id === x.id ? { ...a, state: 'Revoked' } : a)),
    };
    const fake = fakeMint({ now: at(DAY) }, policy);
    const next = await advanceAuthorities({ journal, now: at(DAY), policy, mint: fake.mint });
    expect(next.journal.revoked).toContainEqual({ type: 'X509', id: x.id });
    expect(ofType(next.journal, 'X509').map((a) => a.state)).toEqual(['Active']);
  });

  it('fills the slot of a Tainted Active authority and keeps the tainted one published until it expires', async () => {
    const { result, clock, fake } = await bootstrap();
    clock.now = at(2 * HOUR);
    const x = activeOf(result.journal, 'X509');
    const journal: Journal = {
      ...result.journal,
      authorities: result.journal.authorities.map((a) => (a.id === x.id ? { ...a, state: 'Tainted' } : a)),
    };
    const next = await advanceAuthorities({ journal, now: clock.now, policy, mint: fake.mint });
    expect(summary(next.changes)).toEqual(['X509 new->Active NoActive']);
    expect(ofType(next.journal, 'X509').map((a) => a.state)).toEqual(['Tainted', 'Active']);
    expect(next.nextCheckAt).toEqual(at(12 * HOUR));
  });

  it('keeps the newest valid of several Active authorities', async () => {
    const { result, clock, fake } = await bootstrap();
    clock.now = at(13 * HOUR);
    const prepared = await advanceWith(fake, result.journal, clock.now, policy);
    const journal: Journal = {
      ...prepared.journal,
      authorities: prepared.journal.authorities.map((a) =>
        a.type === 'X509' ? { ...a, state: 'Active' } : a,
      ),
    };
    expect(journalProblems(journal)[0]).toMatch(/^2 X509 authorities are Active/);
    const next = await advanceAuthorities({ journal, now: clock.now, policy, mint: fake.mint });
    expect(summary(next.changes)).toEqual(['X509 Active->Old DuplicateActive']);
    expect(activeOf(next.journal, 'X509').notBefore).toBe(iso(at(13 * HOUR)));
  });

  it('refuses an authority the mint should not have returned', async () => {
    const now = T0;
    const journal = emptyJournal('example.org');
    const good = fakeMint({ now }, policy);
    const wrong = async (transform: (a: Authority) => Authority) => {
      const mint: MintAuthority = async (type) => transform(await good.mint(type));
      return advanceAuthorities({ journal, now, policy, mint });
    };
    await expect(wrong((a) => (a.type === 'X509' ? { ...a, state: 'Active' } : a))).rejects.toThrow(
      /expected Prepared/,
    );
    await expect(wrong((a) => ({ ...a, notAfter: iso(now) }))).rejects.toThrow(/not valid/);
    await expect(
      wrong(
        (a): Authority =>
          a.type === 'X509' ? { ...a, upstream: { signerId: 'ab', rootId: 'ab', chain: [] } } : a,
      ),
    ).rejects.toThrow(/UpstreamChanged/);
    const jwt: JwtAuthority = {
      type: 'JWT',
      id: 'k',
      state: 'Prepared',
      notBefore: iso(now),
      notAfter: iso(at(DAY)),
      privateKey: 'p',
      algorithm: 'ES256',
      publicKey: { kty: 'EC' },
    };
    await expect(advanceAuthorities({ journal, now, policy, mint: async () => jwt })).rejects.toThrow(
      /asked for X509, got JWT/,
    );
    const same = await advanceAuthorities({ journal, now, policy, mint: good.mint });
    const x = activeOf(same.journal, 'X509');
    const aged = {
      ...same.journal,
      authorities: same.journal.authorities.map((a) => ({ ...a, state: 'Old' as const })),
    };
    await expect(
      advanceAuthorities({ journal: aged, now, policy, mint: async () => ({ ...x, state: 'Prepared' }) }),
    ).rejects.toThrow(/already in the journal/);
  });
});

describe('journalProblems', () => {
  const x509Authority = (id: string, state: X509Authority['state']): X509Authority => ({
    type: 'X509',
    id,
    state,
    notBefore: iso(T0),
    notAfter: iso(at(DAY)),
    privateKey: 'p',
    keyType: 'EC-P256',
    certificate: 'c',
  });

  it('accepts an empty journal', () => {
    expect(journalProblems(emptyJournal('example.org'))).toEqual([]);
  });

  it('lists each inconsistency', () => {
    const journal: Journal = {
      ...emptyJournal('example.org'),
      authorities: [
        x509Authority('aa', 'Active'),
        x509Authority('aa', 'Old'),
        x509Authority('bb', 'Active'),
        x509Authority('cc', 'Prepared'),
        x509Authority('dd', 'Prepared'),
        { ...x509Authority('ee', 'Old'), notAfter: iso(T0) },
        x509Authority('NOT-HEX', 'Old'),
      ],
      revoked: [{ type: 'X509', id: 'bb' }],
    };
    expect(journalProblems(journal)).toEqual([
      '2 X509 authorities are Active: aa, bb',
      '2 X509 authorities are Prepared: cc, dd',
      'X509 authority id aa appears more than once',
      'X509 authority bb is revoked but in state Active',
      `X509 authority ee has notAfter ${iso(T0)} not after notBefore ${iso(T0)}`,
      'X509 authority id NOT-HEX is not a lower-case hex subject key identifier',
    ]);
  });

  it('does not confuse ids across types or with revoked upstream roots', () => {
    const journal: Journal = {
      ...emptyJournal('example.org'),
      authorities: [x509Authority('aa', 'Active')],
      revoked: [
        { type: 'UpstreamX509', id: 'aa' },
        { type: 'JWT', id: 'aa' },
      ],
    };
    expect(journalProblems(journal)).toEqual([]);
  });
});
