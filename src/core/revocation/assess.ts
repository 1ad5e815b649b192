import type { RevocationReason } from '../../api/keyrevocation.ts';
import type { AuthorityKind } from '../../api/trustdomain.ts';
import type { Journal, RevocationRecord } from '../authorities/model.ts';
import { CodedError } from '../errors.ts';
import { canonicalId, describeTarget, kindPlural, kindWithArticle } from './target.ts';

/** What a KeyRevocation asks for, with its defaults applied. */
export interface RevocationRequest {
  /** The KeyRevocation object's name. */
  name: string;
  kind: AuthorityKind;
  id: string;
  reason: RevocationReason;
  gracePeriodMs: number;
  reissueTimeoutMs: number;
}

/** The upstream CA as the revocation needs it: its published roots and the root its signer uses. */
export interface UpstreamView {
  /** The Secret, as namespace/name, for messages. */
  secret: string;
  rootIds: readonly string[];
  signerRootId: string;
}

export interface RevocationContext {
  trustDomain: string;
  journal: Journal;
  /** Undefined when the trust domain's X.509 authorities are self-signed. */
  upstream: UpstreamView | undefined;
  /** The journals of the other trust domains Trustline serves, to say where a foreign id belongs. */
  others: readonly Journal[];
}

export type RevocationRefusalCode =
  | 'UnknownAuthority'
  | 'OtherTrustDomain'
  | 'KindMismatch'
  | 'UpstreamIntermediate'
  | 'SignerOnRevokedRoot';

/** Why a KeyRevocation cannot proceed, worded for the person who wrote it. Nothing was changed. */
export class RevocationRefusal extends CodedError<RevocationRefusalCode> {}

/** What the journal is to do to carry out an accepted revocation. */
export interface RevocationPlan {
  request: RevocationRequest;
  /** The authorities whose SVIDs are re-issued: the target, or the intermediates under an upstream root. */
  taintedIds: string[];
  /** One of them is signing now, so a replacement takes over in the same journal write. */
  rotated: boolean;
}

export type RevocationAssessment =
  /** The journal records it: this KeyRevocation's, or another one's for the same key. */
  | { state: 'recorded'; record: RevocationRecord; own: boolean }
  /** The key was revoked before, by something the journal has no record of (an expired revoked key). */
  | { state: 'alreadyRevoked' }
  | { state: 'refused'; refusal: RevocationRefusal }
  | { state: 'accepted'; plan: RevocationPlan };

/** The kinds under which an id appears in a journal (and, for upstream roots, in the upstream CA). */
const kindsOf = (journal: Journal, id: string, upstreamRootIds: readonly string[] = []): AuthorityKind[] => {
  const kinds = new Set<AuthorityKind>();
  const is = (kind: AuthorityKind, candidate: string | undefined) => candidate === canonicalId(kind, id);
  for (const authority of journal.authorities) {
    if (is(authority.type, authority.id)) kinds.add(authority.type);
    if (authority.type === 'X509' && is('UpstreamX509', authority.upstream?.rootId))
      kinds.add('UpstreamX509');
  }
  for (const revoked of journal.revoked) if (is(revoked.type, revoked.id)) kinds.add(revoked.type);
  if (upstreamRootIds.some((root) => is('UpstreamX509', root))) kinds.add('UpstreamX509');
  return [...kinds];
};

const sameTarget = (a: { kind: AuthorityKind; id: string }, b: { kind: AuthorityKind; id: string }) =>
  a.kind === b.kind && a.id === b.id;

/**
 * Where a KeyRevocation stands against a trust domain's journal: already carried out (or under way),
 * refused with a reason that names the problem, or accepted and ready to taint. Pure: the TrustDomain
 * controller acts on the answer and the KeyRevocation controller reports it, each from its own read
 * of the journal.
 */
export function assessRevocation(
  request: RevocationRequest,
  context: RevocationContext,
): RevocationAssessment {
  const { journal, trustDomain, upstream } = context;
  const id = canonicalId(request.kind, request.id);
  const target = { kind: request.kind, id };
  const own = journal.revocations.find((r) => r.requestedBy === request.name && sameTarget(r, target));
  if (own !== undefined) return { state: 'recorded', record: own, own: true };
  const other = journal.revocations.find((r) => sameTarget(r, target));
  if (other !== undefined) return { state: 'recorded', record: other, own: false };
  if (journal.revoked.some((r) => r.type === request.kind && r.id === id)) return { state: 'alreadyRevoked' };

  const refuse = (code: RevocationRefusalCode, message: string): RevocationAssessment => ({
    state: 'refused',
    refusal: new RevocationRefusal(code, message),
  });
  const unknown = () =>
    refuse(
      'UnknownAuthority',
      `trust domain ${trustDomain} has no ${describeTarget(target)}${known(context, request.kind)}`,
    );
  const kinds = kindsOf(journal, request.id, upstream?.rootIds);
  if (!kinds.includes(request.kind)) {
    const [found] = kinds;
    if (found !== undefined) {
      return refuse(
        'KindMismatch',
        `${request.id} is ${kindWithArticle(found)} of trust domain ${trustDomain}, not ${kindWithArticle(request.kind)}: set spec.authority.kind to ${found}`,
      );
    }
    const elsewhere = context.others.find((other) => kindsOf(other, request.id).length > 0);
    if (elsewhere !== undefined) {
      return refuse(
        'OtherTrustDomain',
        `${request.id} belongs to trust domain ${elsewhere.trustDomain}, not ${trustDomain}: point spec.trustDomainRef at the TrustDomain that serves ${elsewhere.trustDomain}`,
      );
    }
    return unknown();
  }

  if (request.kind === 'UpstreamX509') {
    if (upstream === undefined || !upstream.rootIds.includes(id)) {
      return refuse(
        'UnknownAuthority',
        `${id} is not a root in the upstream CA Secret's ca.crt${upstream === undefined ? `: trust domain ${trustDomain} has no upstream CA` : ''}, so no bundle publishes it`,
      );
    }
    if (upstream.signerRootId === id) {
      return refuse(
        'SignerOnRevokedRoot',
        `the upstream signer in Secret ${upstream.secret} chains to root ${id}, the one to revoke, so no replacement intermediate can chain elsewhere: put a signer that chains to another root of ca.crt in tls.crt and tls.key, and this revocation proceeds`,
      );
    }
    const intermediates = journal.authorities.filter((a) => a.type === 'X509' && a.upstream?.rootId === id);
    return accepted(request, id, intermediates);
  }
  const authority = journal.authorities.find((a) => a.type === request.kind && a.id === id);
  if (authority === undefined) return unknown();
  if (authority.type === 'X509' && authority.upstream !== undefined) {
    return refuse(
      'UpstreamIntermediate',
      `X.509 authority ${id} is an intermediate signed by the upstream CA, and the bundle holds only the upstream roots, so revoking it cuts nothing off: rotate the upstream signer in Secret ${upstream?.secret ?? '(the upstream Secret)'} to one under another root, then revoke the upstream root ${authority.upstream.rootId} (kind UpstreamX509)`,
    );
  }
  return accepted(request, id, [authority]);
}

const accepted = (
  request: RevocationRequest,
  id: string,
  authorities: readonly { id: string; state: string }[],
): RevocationAssessment => ({
  state: 'accepted',
  plan: {
    request: { ...request, id },
    taintedIds: authorities.map((a) => a.id),
    rotated: authorities.some((a) => a.state === 'Active'),
  },
});

/** ", whose X.509 authorities are: a, b" — what the user may have meant. */
function known(context: RevocationContext, kind: AuthorityKind): string {
  const ids =
    kind === 'UpstreamX509'
      ? [...(context.upstream?.rootIds ?? [])]
      : context.journal.authorities.filter((a) => a.type === kind).map((a) => a.id);
  return ids.length === 0 ? '' : `; its ${kindPlural(kind)} are: ${ids.join(', ')}`;
}
