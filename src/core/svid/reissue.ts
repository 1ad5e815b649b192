import type { IssuanceInput, JwtReissuePolicy, ReissuePolicy, ReissueTrigger } from './identity.ts';
import {
  jwtAudienceMismatch,
  jwtAuthorityGone,
  jwtMissing,
  jwtRenewalDue,
  jwtSubjectMismatch,
  jwtUnreadable,
} from './jwt-policies.ts';
import {
  certificateUnreadable,
  dataMissing,
  dnsNamesMismatch,
  expired,
  identityMismatch,
  keyMismatch,
  renewalDue,
  secretMissing,
} from './x509-policies.ts';
import { authorityGone, authorityTainted, handEdited, specChanged } from './x509-record-policies.ts';

/**
 * When the SVID Secret of a RegistrationEntry must be issued again: a list of small pure policies in
 * the manner of cert-manager's re-issuance triggers. Each one is safe on its own: when what it inspects
 * cannot be read it reports that (SecretMissing, DataMissing, CertificateUnreadable…) instead of
 * assuming an earlier policy caught it, so no subset or order of the list ever keeps a broken Secret.
 */

/** A per-token policy as a whole-Secret one: the first token, in spec order, that it triggers on. */
const forEachJwtSvid =
  (policy: JwtReissuePolicy): ReissuePolicy =>
  (input) => {
    for (const jwt of input.spec.jwtSvids) {
      const found = policy(input, jwt);
      if (found !== undefined) return found;
    }
    return undefined;
  };

/** In order of how basic the problem is; `reissueReason` reports the first. */
export const X509_REISSUE_POLICIES: readonly ReissuePolicy[] = [
  secretMissing,
  dataMissing,
  certificateUnreadable,
  keyMismatch,
  identityMismatch,
  dnsNamesMismatch,
  specChanged,
  handEdited,
  authorityGone,
  authorityTainted,
  expired,
  renewalDue,
];

export const JWT_REISSUE_POLICIES: readonly JwtReissuePolicy[] = [
  jwtMissing,
  jwtUnreadable,
  jwtAudienceMismatch,
  jwtSubjectMismatch,
  jwtAuthorityGone,
  jwtRenewalDue,
];

export const REISSUE_POLICIES: readonly ReissuePolicy[] = [
  ...X509_REISSUE_POLICIES,
  ...JWT_REISSUE_POLICIES.map(forEachJwtSvid),
];

const firstOf = (policies: readonly ReissuePolicy[], input: IssuanceInput): ReissueTrigger | undefined => {
  for (const policy of policies) {
    const found = policy(input);
    if (found !== undefined) return found;
  }
  return undefined;
};

/** The first reason, in list order, to issue anything in the Secret again; undefined when it is sound. */
export const reissueReason = (input: IssuanceInput): ReissueTrigger | undefined =>
  firstOf(REISSUE_POLICIES, input);

/**
 * Every reason, in list order, once per reason and token: several policies report the same missing
 * Secret or unreadable certificate, which is one problem.
 */
export function reissueReasons(input: IssuanceInput): ReissueTrigger[] {
  const seen = new Set<string>();
  const found: ReissueTrigger[] = [];
  for (const policy of REISSUE_POLICIES) {
    const result = policy(input);
    if (result === undefined) continue;
    const key = `${result.reason}\u0000${result.jwtKey ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    found.push(result);
  }
  return found;
}

/** Why the X.509-SVID must be signed again, or undefined when it may stay. */
export const x509ReissueReason = (input: IssuanceInput): ReissueTrigger | undefined =>
  firstOf(X509_REISSUE_POLICIES, input);

/** The JWT-SVIDs to sign again, by data key, each with the first reason found for it. */
export function jwtSvidsToReissue(input: IssuanceInput): Map<string, ReissueTrigger> {
  const due = new Map<string, ReissueTrigger>();
  for (const jwt of input.spec.jwtSvids) {
    for (const policy of JWT_REISSUE_POLICIES) {
      const found = policy(input, jwt);
      if (found !== undefined) {
        due.set(jwt.key, found);
        break;
      }
    }
  }
  return due;
}
