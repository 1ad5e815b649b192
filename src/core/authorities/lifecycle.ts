import type {
  Authority,
  AuthorityPolicy,
  AuthorityType,
  Journal,
  JwtAuthority,
  LifecycleState,
  X509Authority,
} from './model.ts';

/** The one active authority of a type, or undefined while there is none (or, in a bad journal, several). */
export function activeAuthority(journal: Journal, type: 'X509'): X509Authority | undefined;
export function activeAuthority(journal: Journal, type: 'JWT'): JwtAuthority | undefined;
export function activeAuthority(journal: Journal, type: AuthorityType): Authority | undefined {
  const active = journal.authorities.filter(
    (authority) => authority.type === type && authority.state === 'Active',
  );
  return active.length === 1 ? active[0] : undefined;
}

/**
 * The SPIRE two-slot authority lifecycle, written once for both authority types. Pure: the clock and
 * the key minting are injected, and the input journal is never modified.
 *
 * Validity is the half-open interval [notBefore, notAfter): an authority is expired from notAfter on.
 * An SVID never outlives its authority, so an authority is never expired while something it signed
 * is still valid.
 */

const DAY_MS = 24 * 60 * 60 * 1000;
const PREPARE_CAP_MS = 30 * DAY_MS;
const ACTIVATE_CAP_MS = 7 * DAY_MS;

/** More passes than any legitimate sequence of transitions needs; more means the mint misbehaves. */
const MAX_PASSES = 16;

interface Validity {
  readonly notBefore: string;
  readonly notAfter: string;
}

const ms = (instant: string): number => Date.parse(instant);

const lifetimeMs = (a: Validity): number => ms(a.notAfter) - ms(a.notBefore);

/** When the next key is prepared: notAfter − min(lifetime/2, 30 days). */
export const prepareAt = (authority: Validity): Date =>
  new Date(ms(authority.notAfter) - Math.floor(Math.min(lifetimeMs(authority) / 2, PREPARE_CAP_MS)));

/** When the prepared key replaces this one: notAfter − min(lifetime/6, 7 days). */
export const activateAt = (authority: Validity): Date =>
  new Date(ms(authority.notAfter) - Math.floor(Math.min(lifetimeMs(authority) / 6, ACTIVATE_CAP_MS)));

/** Expired from notAfter on. */
export const isExpired = (a: { readonly notAfter: string }, now: Date): boolean =>
  now.getTime() >= ms(a.notAfter);

/** Within [notBefore, notAfter). */
export const isValidAt = (a: Validity, now: Date): boolean =>
  ms(a.notBefore) <= now.getTime() && !isExpired(a, now);

/** Stable order of authorities and roots: notBefore, then id. */
export const byNotBeforeThenId = (
  a: { readonly notBefore: string; readonly id: string },
  b: { readonly notBefore: string; readonly id: string },
): number => ms(a.notBefore) - ms(b.notBefore) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Of a set of records, those still to keep at `now`: the unexpired ones, or when all have expired
 * the one that expires last, so a type never loses its last record to expiry.
 */
export const withoutExpired = <T extends { readonly notAfter: string; readonly id: string }>(
  records: readonly T[],
  now: Date,
): T[] => {
  const unexpired = records.filter((r) => !isExpired(r, now));
  if (unexpired.length > 0 || records.length === 0) return unexpired;
  const last = records.reduce((best, r) =>
    ms(r.notAfter) > ms(best.notAfter) || (ms(r.notAfter) === ms(best.notAfter) && r.id > best.id) ? r : best,
  );
  return [last];
};

export type AuthorityChangeReason =
  /** The journal had no authority of this type. */
  | 'Bootstrap'
  /** The journal had authorities of this type but none Active (for example it was tainted). */
  | 'NoActive'
  /** The Active authority had expired; or, for a pruned record, it expired. */
  | 'Expired'
  /** The Active authority's notBefore is still ahead (the clock went back). */
  | 'NotYetValid'
  /** The upstream signer changed, was added or was removed. */
  | 'UpstreamChanged'
  /** A Prepared authority's key type or algorithm no longer matches the policy. */
  | 'PolicyChanged'
  /** The Active authority reached its prepare threshold. */
  | 'PrepareThreshold'
  /** The Active authority reached its activation threshold: the Prepared one takes over. */
  | 'ActivateThreshold'
  /** More than one authority of this type was Active; the newest valid one keeps signing. */
  | 'DuplicateActive'
  /** The id is in journal.revoked. */
  | 'RevokedId';

export interface AuthorityChange {
  type: AuthorityType;
  id: string;
  /** undefined: the authority was minted by this call. */
  from: LifecycleState | undefined;
  to: LifecycleState | 'Pruned';
  reason: AuthorityChangeReason;
}

export type MintAuthority = (type: AuthorityType) => Promise<Authority>;

export interface AdvanceInput {
  journal: Journal;
  now: Date;
  policy: AuthorityPolicy;
  /** Returns a new authority of the type in state Prepared, valid at now, bound to the policy. */
  mint: MintAuthority;
  /** Id of the current upstream signer; undefined when the X.509 authorities are self-signed. */
  upstreamSignerId?: string;
}

export interface AdvanceResult {
  journal: Journal;
  changes: AuthorityChange[];
  /** The earliest instant after now at which calling again could change something. */
  nextCheckAt: Date;
}

/** What differs between the authority types; everything else is the same lifecycle. */
interface TypeRules<A extends Authority> {
  readonly type: AuthorityType;
  readonly is: (a: Authority) => a is A;
  /** Why a valid Active authority must stop signing at once, or undefined. */
  readonly unfitToSign: (a: A) => AuthorityChangeReason | undefined;
  /** Why a Prepared authority must never become Active, or undefined. A minted one must pass. */
  readonly unfitToActivate: (a: A) => AuthorityChangeReason | undefined;
}

const x509Rules = (
  policy: AuthorityPolicy,
  upstreamSignerId: string | undefined,
): TypeRules<X509Authority> => {
  const signerChanged = (a: X509Authority) => a.upstream?.signerId !== upstreamSignerId;
  return {
    type: 'X509',
    is: (a): a is X509Authority => a.type === 'X509',
    unfitToSign: (a) => (signerChanged(a) ? 'UpstreamChanged' : undefined),
    unfitToActivate: (a) =>
      signerChanged(a) ? 'UpstreamChanged' : a.keyType !== policy.x509.keyType ? 'PolicyChanged' : undefined,
  };
};

const jwtRules = (policy: AuthorityPolicy): TypeRules<JwtAuthority> => ({
  type: 'JWT',
  is: (a): a is JwtAuthority => a.type === 'JWT',
  unfitToSign: () => undefined,
  unfitToActivate: (a) => (a.algorithm !== policy.jwt.algorithm ? 'PolicyChanged' : undefined),
});

/**
 * Moves the authorities of both types along the lifecycle at `now`: activates, prepares, retires,
 * prunes and mints as needed. Idempotent: calling it again at the same `now` with the returned
 * journal changes nothing and mints nothing. Exactly one valid Active authority per type afterwards.
 */
export const advanceAuthorities = async (input: AdvanceInput): Promise<AdvanceResult> => {
  const { journal, now, policy, mint, upstreamSignerId } = input;
  const revoked = [...journal.revoked];
  const changes: AuthorityChange[] = [];
  const x509 = await advanceType(journal, revoked, now, mint, x509Rules(policy, upstreamSignerId), changes);
  const jwt = await advanceType(journal, revoked, now, mint, jwtRules(policy), changes);
  const next: Journal = { ...journal, authorities: [...x509.records, ...jwt.records], revoked };
  return {
    journal: next,
    changes,
    nextCheckAt: new Date(Math.min(x509.nextCheckAt, jwt.nextCheckAt)),
  };
};

const advanceType = async <A extends Authority>(
  journal: Journal,
  revoked: Journal['revoked'],
  now: Date,
  mint: MintAuthority,
  rules: TypeRules<A>,
  changes: AuthorityChange[],
): Promise<{ records: A[]; nextCheckAt: number }> => {
  const { type } = rules;
  const revokedIds = new Set(revoked.filter((r) => r.type === type).map((r) => r.id));
  let records: A[] = journal.authorities.filter(rules.is);
  const hadRecords = records.length > 0;

  const record = (
    id: string,
    from: LifecycleState | undefined,
    to: LifecycleState | 'Pruned',
    reason: AuthorityChangeReason,
  ) => changes.push({ type, id, from, to, reason });
  const setState = (a: A, to: LifecycleState, reason: AuthorityChangeReason) => {
    records = records.map((r) => (r === a ? { ...r, state: to } : r));
    record(a.id, a.state, to, reason);
  };
  const drop = (a: A, reason: AuthorityChangeReason) => {
    records = records.filter((r) => r !== a);
    record(a.id, a.state, 'Pruned', reason);
  };
  const mintOne = async (to: 'Active' | 'Prepared', reason: AuthorityChangeReason) => {
    const minted = await mint(type);
    const problem = mintProblem(minted, rules, now, records, revokedIds);
    if (problem !== undefined || !rules.is(minted)) {
      throw new Error(`mint returned an unusable ${type} authority: ${problem ?? 'wrong type'}`);
    }
    records = [...records, { ...minted, state: to }];
    record(minted.id, undefined, to, reason);
  };
  /** The Prepared authority to activate: valid now, fit, prepared first. */
  const activatable = () =>
    records
      .filter((r) => r.state === 'Prepared' && isValidAt(r, now) && rules.unfitToActivate(r) === undefined)
      .sort(byNotBeforeThenId)[0];

  let vacancy: AuthorityChangeReason = hadRecords ? 'NoActive' : 'Bootstrap';
  for (let pass = 0; ; pass++) {
    if (pass >= MAX_PASSES) {
      throw new Error(`${type} authorities did not settle after ${MAX_PASSES} passes: check the mint`);
    }
    const before = changes.length;

    for (const r of records) {
      if (revokedIds.has(r.id) && r.state !== 'Revoked') setState(r, 'Revoked', 'RevokedId');
    }
    for (const r of records) {
      const unfit = r.state === 'Prepared' ? rules.unfitToActivate(r) : undefined;
      if (unfit !== undefined) drop(r, unfit);
    }

    const actives = records.filter((r) => r.state === 'Active');
    if (actives.length > 1) {
      const keep = [...actives].sort(
        (a, b) => Number(isValidAt(b, now)) - Number(isValidAt(a, now)) || byNotBeforeThenId(b, a),
      )[0];
      for (const r of actives) if (r !== keep) setState(r, 'Old', 'DuplicateActive');
      continue;
    }
    const active = actives[0];
    if (active !== undefined) {
      const unusable = isExpired(active, now)
        ? 'Expired'
        : !isValidAt(active, now)
          ? 'NotYetValid'
          : rules.unfitToSign(active);
      if (unusable !== undefined) {
        setState(active, 'Old', unusable);
        vacancy = unusable;
        continue;
      }
    } else {
      const prepared = activatable();
      if (prepared !== undefined) setState(prepared, 'Active', vacancy);
      else await mintOne('Active', vacancy);
      continue;
    }

    const hasPrepared = records.some((r) => r.state === 'Prepared' && !isExpired(r, now));
    if (!hasPrepared && now >= prepareAt(active)) {
      await mintOne('Prepared', 'PrepareThreshold');
    }
    const next = activatable();
    if (next !== undefined && now >= activateAt(active)) {
      setState(active, 'Old', 'ActivateThreshold');
      setState(next, 'Active', 'ActivateThreshold');
    }
    if (changes.length === before) break;
  }

  // Prune what has expired. After the passes a valid Active exists, so the last record always stays.
  const kept = new Set(withoutExpired(records, now));
  for (const r of records) {
    if (kept.has(r)) continue;
    drop(r, 'Expired');
    if (r.state === 'Revoked' && !revokedIds.has(r.id)) {
      revokedIds.add(r.id);
      revoked.push({ type, id: r.id });
    }
  }
  records = records.toSorted(byNotBeforeThenId);

  const actives = records.filter((r) => r.state === 'Active');
  const active = actives[0];
  if (actives.length !== 1 || active === undefined || !isValidAt(active, now)) {
    throw new Error(`internal error: ${type} authorities settled without exactly one valid Active`);
  }
  return { records, nextCheckAt: nextCheck(records, active, now) };
};

const mintProblem = <A extends Authority>(
  minted: Authority,
  rules: TypeRules<A>,
  now: Date,
  records: readonly A[],
  revokedIds: ReadonlySet<string>,
): string | undefined => {
  if (!rules.is(minted)) return `asked for ${rules.type}, got ${minted.type}`;
  if (minted.state !== 'Prepared') return `state ${minted.state}, expected Prepared`;
  if (!isValidAt(minted, now)) return `not valid at ${now.toISOString()}`;
  if (records.some((r) => r.id === minted.id)) return `id ${minted.id} already in the journal`;
  if (revokedIds.has(minted.id)) return `id ${minted.id} is revoked`;
  const unfit = rules.unfitToActivate(minted);
  if (unfit !== undefined) return `it does not match the policy or upstream (${unfit})`;
  if (now >= activateAt(minted)) return 'it is already due for rotation';
  return undefined;
};

/** Thresholds that matter next (prepare while none is Prepared, activate once one is), expiries. */
const nextCheck = (records: readonly Authority[], active: Authority, now: Date): number => {
  const t = now.getTime();
  const hasPrepared = records.some((r) => r.state === 'Prepared' && !isExpired(r, now));
  const instants = [(hasPrepared ? activateAt(active) : prepareAt(active)).getTime()];
  for (const r of records) {
    instants.push(ms(r.notAfter));
    if (r.state === 'Prepared') instants.push(ms(r.notBefore));
  }
  return Math.min(...instants.filter((i) => i > t));
};
