import type { X509KeyType } from '../../api/trustdomain.ts';
import type { ReissueReason } from './reissue-reason.ts';

export interface DesiredJwtSvid {
  /** The Secret data key of the token. */
  key: string;
  audiences: readonly string[];
  ttlMs: number;
}

/** The identity a RegistrationEntry asks for, with the TrustDomain defaults filled in. */
export interface DesiredIdentity {
  /** spiffe://<trust domain><path> */
  spiffeId: string;
  dnsNames: readonly string[];
  keyType: X509KeyType;
  x509TtlMs: number;
  jwtSvids: readonly DesiredJwtSvid[];
}

export type SecretValue = Buffer | string;

export interface ObservedSecret {
  /** Decoded data: bytes or UTF-8 text. */
  data: Readonly<Record<string, SecretValue | undefined>>;
  annotations: Readonly<Record<string, string | undefined>>;
  /**
   * Not read by any policy: whether Trustline may write a Secret at all is the controller's conflict
   * decision, made before these policies run.
   */
  ownedByEntry: boolean;
}

export interface IssuanceInput {
  now: Date;
  spec: DesiredIdentity;
  secret?: ObservedSecret | undefined;
  /** The authorities that sign now; named in messages so a reader sees what replaces what. */
  activeAuthorityIds: { x509: string; jwt: string };
  /**
   * Ids of the journal's authorities in a published state (Prepared, Active, Old, Tainted) that have
   * not expired: X.509 subject key identifiers and JWT `kid`s. An SVID whose signer is not among them
   * no longer verifies, or soon will not.
   */
  publishableAuthorityIds: { x509: readonly string[]; jwt: readonly string[] };
  /** Ids of Tainted authorities, of either type: still published, but what they signed is re-signed. */
  taintedAuthorityIds?: readonly string[] | undefined;
  /** Of a lifetime, how much passes before renewal; 0.5 when unset. */
  renewalFraction?: number | undefined;
}

export interface ReissueTrigger {
  reason: ReissueReason;
  message: string;
  /** For JWT-SVID reasons: the data key of the token to sign again. */
  jwtKey?: string;
}

export type ReissuePolicy = (input: IssuanceInput) => ReissueTrigger | undefined;
export type JwtReissuePolicy = (input: IssuanceInput, jwt: DesiredJwtSvid) => ReissueTrigger | undefined;
