import {
  ANNOTATION_SVID_WITHDRAWN,
  ANNOTATION_WITHDRAWN_SIGNERS,
  SVID_ANNOTATIONS,
  SVID_BUNDLE_KEY,
  TLS_CA_KEY,
  TLS_CERT_KEY,
  TLS_PRIVATE_KEY_KEY,
} from '../../api/well-known.ts';
import type { Journal } from '../authorities/model.ts';
import { abandonedSigners } from '../revocation/progress.ts';
import { svidSigners } from '../revocation/signers.ts';
import type { ObservedSecret, SecretValue } from './identity.ts';
import { EntryReason } from './reasons.ts';
import type { SvidSecretContent } from './secret-data.ts';

/**
 * Withdrawal: an SVID Trustline may no longer keep in a workload's hands leaves its Secret by an
 * update. Not a revocation: a copy the tenant made stays valid until its notAfter.
 */

export interface WithdrawalInput {
  secret: ObservedSecret;
  /** The data keys of the entry's JWT-SVIDs, so their signers are remembered. */
  jwtKeys: readonly string[];
  /** Why, as a refusal or revocation reason. */
  reason: string;
  /** The trust domain's current roots; undefined when there is no journal to take them from. */
  bundlePem: string | undefined;
}

const textOf = (value: SecretValue | undefined): string =>
  value === undefined ? '' : typeof value === 'string' ? value : value.toString('utf8');

/**
 * The content of a withdrawn Secret: tls.crt and tls.key empty (kubernetes.io/tls requires both keys),
 * every other SVID file and JWT-SVID gone, and the bundle in ca.crt and svid_bundle.pem kept current
 * (or, with no bundle to take, as last written) so the workload never keeps trusting a revoked root.
 * The svid annotations go, so the Secret counts as no authority's SVID; the signers it held are kept
 * apart, so a revocation can still name it.
 */
export function withdrawnSecretContent(input: WithdrawalInput): SvidSecretContent {
  const { secret, jwtKeys, reason, bundlePem } = input;
  const previous = secret.annotations[ANNOTATION_WITHDRAWN_SIGNERS]?.split(',').filter(Boolean) ?? [];
  const signers = [...new Set([...previous, ...svidSigners({ ...secret, jwtKeys })])].sort();
  const bundle = bundlePem ?? textOf(secret.data[TLS_CA_KEY]);
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(secret.annotations)) {
    if (value !== undefined && !SVID_ANNOTATIONS.includes(key)) annotations[key] = value;
  }
  return {
    data: { [TLS_CERT_KEY]: '', [TLS_PRIVATE_KEY_KEY]: '', [TLS_CA_KEY]: bundle, [SVID_BUNDLE_KEY]: bundle },
    annotations: {
      ...annotations,
      [ANNOTATION_SVID_WITHDRAWN]: reason,
      ...(signers.length > 0 ? { [ANNOTATION_WITHDRAWN_SIGNERS]: signers.join(',') } : {}),
    },
  };
}

/** Whether the Secret already is what withdrawing it would write: then nothing is written. */
export function isWithdrawnAs(secret: ObservedSecret, content: SvidSecretContent): boolean {
  const keys = Object.keys(secret.data).filter((key) => secret.data[key] !== undefined);
  return (
    keys.length === Object.keys(content.data).length &&
    Object.entries(content.data).every(([key, value]) => textOf(secret.data[key]) === value) &&
    Object.entries(content.annotations).every(([key, value]) => secret.annotations[key] === value) &&
    SVID_ANNOTATIONS.every((key) => secret.annotations[key] === undefined)
  );
}

/** Whether Trustline withdrew the SVID this Secret held. */
export const isWithdrawn = (annotations: Readonly<Record<string, string | undefined>>): boolean =>
  annotations[ANNOTATION_SVID_WITHDRAWN] !== undefined;

/** The authorities whose SVIDs a withdrawn Secret held. */
export const withdrawnSigners = (annotations: Readonly<Record<string, string | undefined>>): string[] =>
  isWithdrawn(annotations)
    ? (annotations[ANNOTATION_WITHDRAWN_SIGNERS]?.split(',').filter(Boolean) ?? [])
    : [];

/**
 * The reason to give an entry whose trust domain cannot issue now: TrustDomainNotReady keeps the
 * SVID, unless a revocation that no longer waits is cutting off an authority the Secret held (a
 * Secret already withdrawn keeps the signers it held, so its reason stays).
 */
export function notReadyReason(
  secret: ObservedSecret | undefined,
  jwtKeys: readonly string[],
  journal: Journal | undefined,
  now: Date,
): string {
  if (journal === undefined || secret === undefined) return EntryReason.TrustDomainNotReady;
  const signers = [...svidSigners({ ...secret, jwtKeys }), ...withdrawnSigners(secret.annotations)];
  const cut = abandonedSigners(journal, now);
  return signers.some((id) => cut.has(id)) ? EntryReason.AuthorityRevoked : EntryReason.TrustDomainNotReady;
}
