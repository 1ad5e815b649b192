import type { SecretModeEntry } from '../../api/registrationentry.ts';
import {
  ANNOTATION_SVID_AUTHORITY_ID,
  ANNOTATION_SVID_NOT_AFTER,
  ANNOTATION_SVID_RENEW_AT,
  ANNOTATION_SVID_SERIAL,
} from '../../api/well-known.ts';
import type { SigningRecord } from '../../observability/audit.ts';
import type { DesiredCondition } from '../conditions.ts';
import type { DesiredJwtSvid, IssuanceInput, ReissueTrigger } from '../svid/identity.ts';
import { jwtRenewalDueAt } from '../svid/jwt-policies.ts';
import type { JwtSvid } from '../svid/jwt-svid.ts';
import { EntryReason, issuanceCause } from '../svid/reasons.ts';
import { jwtSvidsToReissue, x509ReissueReason } from '../svid/reissue.ts';
import { issuedLifetime, renewalDueAt } from '../svid/renewal.ts';
import { buildSecretData, type SvidSecretContent, withBundle, withJwtSvids } from '../svid/secret-data.ts';
import { caBundleStale, extraDataKeys } from '../svid/secret-drift.ts';
import { x509RenewalDueAt } from '../svid/x509-policies.ts';
import type { X509Svid } from '../svid/x509-types.ts';
import type { EntrySigner } from './signer.ts';

const RENEWAL_JITTER = 0.1;

/** What the planner sees of a Secret-mode entry whose trust domain may issue to it now. */
export interface IssuanceObservation {
  entry: SecretModeEntry;
  /** The policies' input: the clock, the identity, the observed Secret and the journal's authorities. */
  input: IssuanceInput;
  /** Lifetimes the TrustDomain's limits shortened, told to the user. */
  capped: readonly string[];
  bundlePem: string;
  trustDomain: string;
  jwtIssuer: string | undefined;
  jwtAlgorithm: string;
  random: () => number;
}

export interface PlannedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** Recurring news (renewals): aggregated by the recorder instead of told one by one. */
  routine?: boolean;
}

export interface IssuancePlan {
  /** The Secret to write; undefined when it already holds what it should. */
  write:
    | {
        name: string;
        data: Record<string, string>;
        labels: Record<string, string>;
        annotations: Record<string, string>;
      }
    | undefined;
  /** Audited before the write: a signature exists even if the Secret never does. */
  audit: SigningRecord[];
  /** What was signed and why, counted once the write succeeds. */
  issued: { type: 'x509' | 'jwt'; cause: string }[];
  /** Told once the write succeeds. */
  events: PlannedEvent[];
  condition: DesiredCondition;
  status: Record<string, unknown>;
  /** The X.509-SVID's expiry, for the expiry metric. */
  expiry: { trustDomain: string; notAfter: Date };
  /** When the entry must be looked at again though nothing changed: the first renewal due. */
  wakeAt: Date;
}

type Signed =
  | { type: 'x509'; trigger: ReissueTrigger; svid: X509Svid }
  | { type: 'jwt'; trigger: ReissueTrigger; svid: JwtSvid };

/**
 * Plans a Secret-mode entry's issuance: signs only what the re-issue policies say must be signed,
 * rewrites the Secret only when something in it drifted, and says when to look again.
 */
export async function planIssuance(
  observation: IssuanceObservation,
  signer: EntrySigner,
): Promise<IssuancePlan> {
  const { entry, input, bundlePem } = observation;
  const identity = input.spec;
  const currentData = input.secret?.data ?? {};
  const x509Trigger = x509ReissueReason(input);
  const jwtDue = x509Trigger ? new Map<string, ReissueTrigger>() : jwtSvidsToReissue(input);
  const signed: Signed[] = [];
  const signJwt = async (jwt: DesiredJwtSvid, trigger: ReissueTrigger): Promise<string> => {
    const svid = await signer.jwt({
      spiffeId: identity.spiffeId,
      audiences: jwt.audiences,
      ttlMs: jwt.ttlMs,
      now: input.now,
      ...(observation.jwtIssuer === undefined ? {} : { issuer: observation.jwtIssuer }),
    });
    signed.push({ type: 'jwt', trigger, svid });
    return svid.token;
  };

  let content: SvidSecretContent | undefined;
  let x509: X509Svid | undefined;
  const tokens: Record<string, string> = {};
  if (x509Trigger) {
    x509 = await signer.x509({
      spiffeId: identity.spiffeId,
      dnsNames: identity.dnsNames,
      keyType: identity.keyType,
      ttlMs: identity.x509TtlMs,
      now: input.now,
    });
    signed.push({ type: 'x509', trigger: x509Trigger, svid: x509 });
    for (const jwt of identity.jwtSvids) tokens[jwt.key] = await signJwt(jwt, x509Trigger);
    const renewal = { fraction: input.renewalFraction, jitter: RENEWAL_JITTER, random: observation.random };
    content = buildSecretData({ identity, svid: x509, bundlePem, jwtSvids: tokens, renewal });
  } else {
    for (const jwt of identity.jwtSvids) {
      const trigger = jwtDue.get(jwt.key);
      const kept = currentData[jwt.key];
      tokens[jwt.key] =
        trigger || kept === undefined
          ? await signJwt(jwt, trigger ?? { reason: 'JwtMissing', message: `no JWT-SVID ${jwt.key}` })
          : String(kept);
    }
    const stale =
      caBundleStale(currentData, bundlePem) ||
      extraDataKeys(currentData, identity).length > 0 ||
      signed.length > 0;
    if (stale) {
      content = {
        data: withBundle(withJwtSvids(currentData, identity, tokens), bundlePem),
        annotations: defined(input.secret?.annotations),
      };
    }
  }
  const held = content ?? { data: defined(currentData), annotations: defined(input.secret?.annotations) };
  return {
    write: content && {
      name: entry.spec.secret.name,
      data: content.data,
      labels: entry.spec.secret.labels ?? {},
      annotations: { ...entry.spec.secret.annotations, ...content.annotations },
    },
    ...outcome(observation, signed, held),
    wakeAt: wakeAt(input, held, x509),
  };
}

/** Audit records, counts, events and status of a plan whose Secret will hold `content`. */
function outcome(
  observation: IssuanceObservation,
  signed: readonly Signed[],
  content: SvidSecretContent,
): Pick<IssuancePlan, 'audit' | 'issued' | 'events' | 'condition' | 'status' | 'expiry'> {
  const { entry, input, capped } = observation;
  const identity = input.spec;
  const firstIssue = entry.status?.svid === undefined;
  const ref = `RegistrationEntry/${entry.metadata.namespace ?? ''}/${entry.metadata.name}`;
  const audit = signed.map((done): SigningRecord => {
    const x509 = done.type === 'x509';
    return {
      operation: x509 ? 'x509-svid' : 'jwt-svid',
      trustDomain: observation.trustDomain,
      spiffeId: identity.spiffeId,
      entryUid: entry.metadata.uid ?? '',
      keyType: x509 ? identity.keyType : observation.jwtAlgorithm,
      reason: `${issuanceCause(done.trigger.reason, firstIssue)}: ${done.trigger.reason}`,
      signer: done.svid.authorityId,
      subject: x509 ? done.svid.serial : done.svid.jti,
      notBefore: (x509 ? done.svid.notBefore : done.svid.issuedAt).toISOString(),
      notAfter: done.svid.notAfter.toISOString(),
      for: ref,
    };
  });
  const events: PlannedEvent[] = [];
  const [first] = signed;
  if (first) {
    const what = signed.some((s) => s.type === 'x509') ? 'X.509-SVID' : 'JWT-SVID';
    const cause = `${issuanceCause(first.trigger.reason, firstIssue)}: ${first.trigger.message}`;
    const message = `${what} for ${identity.spiffeId} written to Secret ${entry.spec.secret.name} (${cause})`;
    // Renewals recur every few minutes or seconds per entry: aggregated, while the first issue is told at once.
    events.push(
      firstIssue
        ? { type: 'Normal', reason: 'Issued', message }
        : { type: 'Normal', reason: 'Renewed', message, routine: true },
    );
  }
  for (const warning of capped) events.push({ type: 'Warning', reason: 'TTLCapped', message: warning });
  const { annotations } = content;
  const authorityId = annotations[ANNOTATION_SVID_AUTHORITY_ID] ?? '';
  const notAfter = annotations[ANNOTATION_SVID_NOT_AFTER] ?? input.now.toISOString();
  const svidStatus = {
    serial: annotations[ANNOTATION_SVID_SERIAL] ?? '',
    authorityID: authorityId,
    notAfter,
    renewAt: annotations[ANNOTATION_SVID_RENEW_AT] ?? input.now.toISOString(),
  };
  return {
    audit,
    issued: signed.map(({ type, trigger }) => ({ type, cause: issuanceCause(trigger.reason, firstIssue) })),
    events,
    condition: {
      type: 'Ready',
      status: 'True',
      reason: EntryReason.Issued,
      message: `${identity.spiffeId} signed by X.509 authority ${authorityId}${capped.length > 0 ? `; ${capped.join('; ')}` : ''}`,
    },
    status: { spiffeID: identity.spiffeId, svid: svidStatus },
    expiry: { trustDomain: observation.trustDomain, notAfter: new Date(notAfter) },
  };
}

/** The first renewal due among the SVIDs the Secret will hold, by the one rule of `renewalDueAt`. */
function wakeAt(input: IssuanceInput, content: SvidSecretContent, x509: X509Svid | undefined): Date {
  const written: IssuanceInput = { ...input, secret: { ...content, ownedByEntry: true } };
  // A fresh certificate's lifetime is known without parsing it; a kept one's leaf is parsed already.
  const x509Due = x509
    ? renewalDueAt(issuedLifetime(x509), input.renewalFraction, content.annotations[ANNOTATION_SVID_RENEW_AT])
    : x509RenewalDueAt(input);
  const jwtDue = input.spec.jwtSvids.map((jwt) => jwtRenewalDueAt(written, jwt) ?? input.now);
  return new Date(Math.min(...[x509Due ?? input.now, ...jwtDue].map((due) => due.getTime())));
}

const defined = (
  record: Readonly<Record<string, string | Buffer | undefined>> | undefined,
): Record<string, string> =>
  Object.fromEntries(
    Object.entries(record ?? {}).flatMap(([key, value]) =>
      value === undefined ? [] : [[key, String(value)]],
    ),
  );
