import type { TrustDomain } from '../../api/trustdomain.ts';
import { ANNOTATION_REINITIALIZE_KEYS } from '../../api/well-known.ts';
import { JournalError, journalSecretName } from '../authorities/journal-codec.ts';
import type { Journal } from '../authorities/model.ts';
import type { UpstreamCA } from '../authorities/upstream.ts';
import { journalUpstreamRoots } from '../bundle/journal-roots.ts';
import type { UpstreamRoot } from '../bundle/trust-bundle.ts';
import type { DesiredCondition } from '../conditions.ts';
import { readyCondition as ready } from '../conditions.ts';
import { revokedUpstreamRoot } from '../revocation/progress.ts';
import { lifetimeProblem } from './lifetimes.ts';
import { TrustDomainReason } from './reasons.ts';

/** How soon a held deletion looks again, for an entry that moved to another TrustDomain. */
export const HELD_RECHECK_MS = 30_000;
export const UPSTREAM_RECHECK_MS = 60_000;

/** A journal as read from its Secret, with the resourceVersion read; none when never written. */
export interface JournalAsStored {
  journal: Journal;
  resourceVersion: string | undefined;
}

/** The upstream CA as read: none for a self-signed trust domain, or why its Secret cannot be used. */
export type UpstreamObserved =
  | { ca: UpstreamCA | undefined }
  | { problem: 'UpstreamNotFound' | 'UpstreamInvalid' | 'UpstreamNotBound'; message: string };

/** Whether new authorities may be minted; without, the X.509 roots the bundle publishes. */
export type Signing =
  | { mint: true; upstream: UpstreamCA | undefined }
  | { mint: false; upstream: UpstreamCA | undefined; roots: readonly UpstreamRoot[] };

/** The reconcile ends with this status: nothing is signed or published. */
export interface Stop {
  ready: DesiredCondition;
  requeueAfterMs: number | undefined;
}

export type Admission =
  | { stop: Stop }
  | { signing: Signing; problem: DesiredCondition | undefined; stored: JournalAsStored };

/** Problems with the spec that stop Trustline from touching the keys at all. */
export function specRefusal(
  trustDomain: TrustDomain,
  conflict: { kind: string; message: string } | undefined,
): DesiredCondition | undefined {
  const lifetimes = lifetimeProblem(trustDomain.spec);
  if (lifetimes) return ready(TrustDomainReason.LifetimeTooShort, lifetimes);
  if (!conflict) return undefined;
  return ready(
    conflict.kind === 'TrustDomain' ? TrustDomainReason.Conflict : TrustDomainReason.SignerConflict,
    conflict.message,
  );
}

/**
 * Whether the reconcile stops before the journal is read. A revocation does not wait for an
 * unrelated repair: lifetimes that are too short still let Trustline taint, rotate and publish.
 */
export function refusalStop(
  held: DesiredCondition | undefined,
  refusal: DesiredCondition | undefined,
): Stop | undefined {
  if (!refusal || refusal.reason === TrustDomainReason.LifetimeTooShort) return undefined;
  return { ready: held ?? refusal, requeueAfterMs: held ? HELD_RECHECK_MS : undefined };
}

/**
 * A journal that is gone although this TrustDomain has published a bundle: minting new keys would
 * silently replace every key relying parties trust, so that takes an explicit annotation.
 */
function lostJournal(
  trustDomain: TrustDomain,
  stored: JournalAsStored,
  operatorNamespace: string,
): DesiredCondition | undefined {
  const published = trustDomain.status?.bundleSequence ?? 0;
  if (stored.resourceVersion !== undefined || published === 0) return undefined;
  if (trustDomain.metadata.annotations?.[ANNOTATION_REINITIALIZE_KEYS] === 'true') return undefined;
  return ready(
    TrustDomainReason.JournalMissing,
    `the journal Secret ${operatorNamespace}/${journalSecretName(trustDomain.spec.trustDomain)} is gone, ` +
      `but bundle sequence ${published} was published from it; restore it from a backup, or annotate the ` +
      `TrustDomain ${ANNOTATION_REINITIALIZE_KEYS}=true to start over with new keys`,
  );
}

export interface AdmissionInput {
  trustDomain: TrustDomain;
  /** Why deletion waits, for a TrustDomain being deleted. */
  held: DesiredCondition | undefined;
  refusal: DesiredCondition | undefined;
  /** Whether a KeyRevocation names the TrustDomain or its journal carries one under way. */
  revoking: boolean;
  upstream: UpstreamObserved;
  stored: JournalAsStored | JournalError;
  operatorNamespace: string;
}

/** Whether keys may be minted, or only the journal's bundle advanced, or nothing at all. */
export function admit(input: AdmissionInput): Admission {
  const { trustDomain, held, refusal, revoking, upstream: read, stored, operatorNamespace } = input;
  if (stored instanceof JournalError) {
    const message = `${stored.message}; Trustline leaves it untouched until it is repaired, and no revocation advances`;
    return { stop: { ready: ready(TrustDomainReason.JournalInvalid, message), requeueAfterMs: undefined } };
  }
  const lost = lostJournal(trustDomain, stored, operatorNamespace);
  if (lost) return { stop: { ready: lost, requeueAfterMs: undefined } };
  const upstream = 'ca' in read ? read.ca : undefined;
  const revokedRoot = upstream && revokedUpstreamRoot(stored.journal, upstream.rootId);
  // Keys already issued stay as they are while the upstream Secret is unusable; it is looked at
  // again when it changes, and regularly, since a certificate not yet valid becomes valid unprompted.
  const unusable =
    'problem' in read
      ? ready(TrustDomainReason[read.problem], read.message)
      : revokedRoot &&
        // Minting under a revoked root would put the cut-off key back into every SVID chain.
        ready(
          TrustDomainReason.UpstreamRevoked,
          `the upstream signer in Secret ${operatorNamespace}/${trustDomain.spec.upstream?.secretName} chains to root ${upstream?.rootId}, which KeyRevocation ${revokedRoot.requestedBy} cut off; put a signer under another root of ca.crt in tls.crt and tls.key`,
        );
  const lifetimes = refusal?.reason === TrustDomainReason.LifetimeTooShort;
  const problem = held ?? (lifetimes ? refusal : undefined) ?? unusable;
  const cannotMint = unusable ?? (lifetimes && !revoking ? refusal : undefined);
  if (cannotMint === undefined) return { signing: { mint: true, upstream }, problem, stored };
  // Nothing can be minted, but the bundle is the journal's: revocations advance and go out.
  const roots = upstream?.roots ?? (trustDomain.spec.upstream ? journalUpstreamRoots(stored.journal) : []);
  if (stored.resourceVersion === undefined || roots === undefined) {
    return { stop: { ready: problem ?? cannotMint, requeueAfterMs: UPSTREAM_RECHECK_MS } };
  }
  return { signing: { mint: false, upstream, roots }, problem: problem ?? cannotMint, stored };
}
