import { randomBytes, type webcrypto } from 'node:crypto';
import { SignJWT } from 'jose';
import type { JwtAlgorithm } from '../../api/trustdomain.ts';
import { importJwtSigningKey } from '../authorities/keys.ts';
import type { JwtAuthority } from '../authorities/model.ts';
import { checkAudiences, checkSpiffeId, SvidError, svidNotAfter } from './validation.ts';

/** A JWT authority made ready to sign: its key imported once. */
export interface JwtSvidSigner {
  /** The `kid` of every token it signs. */
  readonly authorityId: string;
  readonly algorithm: JwtAlgorithm;
  readonly key: webcrypto.CryptoKey;
  /** Tokens expire no later than their key. */
  readonly notAfter: Date;
  /** When known, the trust domain every subject must be in. */
  readonly trustDomain: string | undefined;
}

export interface JwtSvidParams {
  /** `spiffe://<trust domain>/<path>`: the `sub` claim. */
  spiffeId: string;
  /** The `aud` claim, always an array; at least one. */
  audiences: readonly string[];
  ttlMs: number;
  now: Date;
  /** The `iss` claim; left out when not given. */
  issuer?: string;
}

export interface JwtSvid {
  token: string;
  jti: string;
  issuedAt: Date;
  notAfter: Date;
  authorityId: string;
}

/**
 * Imports the authority's key once. JWT authorities do not record their trust domain; pass it so that
 * every token's subject is checked against it.
 */
export function prepareJwtSigner(authority: JwtAuthority, trustDomain?: string): JwtSvidSigner {
  let key: webcrypto.CryptoKey;
  try {
    key = importJwtSigningKey(authority.privateKey, authority.algorithm);
  } catch {
    throw new SvidError(
      'AuthorityUnusable',
      `the private key of JWT authority ${authority.id} is not a readable ${authority.algorithm} key`,
    );
  }
  const notAfter = new Date(authority.notAfter);
  if (Number.isNaN(notAfter.getTime())) {
    throw new SvidError('AuthorityUnusable', `JWT authority ${authority.id} has no valid notAfter`);
  }
  return { authorityId: authority.id, algorithm: authority.algorithm, key, notAfter, trustDomain };
}

/** 16 random bytes: unguessable, so a replay cache can key on it. */
const JTI_OCTETS = 16;

/** Signs a JWT-SVID as the SPIFFE JWT-SVID spec lays it out: sub, aud, exp, and iat and jti besides. */
export async function mintJwtSvid(signer: JwtSvidSigner, params: JwtSvidParams): Promise<JwtSvid> {
  const { spiffeId, ttlMs, now, issuer } = params;
  checkSpiffeId(spiffeId, signer.trustDomain);
  const audiences = checkAudiences(params.audiences);
  const notAfter = svidNotAfter(now, ttlMs, signer.notAfter);
  const issuedAt = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const jti = randomBytes(JTI_OCTETS).toString('base64url');
  const token = await new SignJWT({
    ...(issuer === undefined ? {} : { iss: issuer }),
    sub: spiffeId,
    aud: audiences,
    exp: notAfter.getTime() / 1000,
    iat: issuedAt.getTime() / 1000,
    jti,
  })
    .setProtectedHeader({ alg: signer.algorithm, kid: signer.authorityId, typ: 'JWT' })
    .sign(signer.key);
  return { token, jti, issuedAt, notAfter, authorityId: signer.authorityId };
}
