import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { DesiredJwtSvid, IssuanceInput, JwtReissuePolicy } from './identity.ts';
import { type Read, readSecret, textOf, trigger } from './observed-secret.ts';
import { ReissueReason } from './reissue-reason.ts';
import { renewalDueAt } from './renewal.ts';
import { describeSet, sameSet } from './sets.ts';

/** The JWT-SVIDs' re-issue policies, one token at a time. */

interface Token {
  kid: string | undefined;
  sub: string;
  aud: string[];
  iat: number;
  exp: number;
}

function readToken(input: IssuanceInput, jwt: DesiredJwtSvid): Read<Token> {
  const secret = readSecret(input);
  if (secret.trigger !== undefined) return secret;
  const text = textOf(secret.value.data[jwt.key])?.trim();
  if (text === undefined || text === '') {
    return { trigger: trigger(ReissueReason.JwtMissing, `the Secret lacks ${jwt.key}`, jwt.key) };
  }
  const unreadable = (why: string): Read<Token> => ({
    trigger: trigger(ReissueReason.JwtUnreadable, `${jwt.key} ${why}`, jwt.key),
  });
  let header: ReturnType<typeof decodeProtectedHeader>;
  let payload: ReturnType<typeof decodeJwt>;
  try {
    header = decodeProtectedHeader(text);
    payload = decodeJwt(text);
  } catch {
    return unreadable('is not a compact JWT');
  }
  const { sub, aud, iat, exp } = payload;
  if (typeof sub !== 'string') return unreadable('has no sub claim');
  const audiences = typeof aud === 'string' ? [aud] : aud;
  if (!Array.isArray(audiences) || !audiences.every((a) => typeof a === 'string')) {
    return unreadable('has no aud claim');
  }
  if (typeof iat !== 'number' || typeof exp !== 'number' || !(exp > iat)) {
    return unreadable('has no iat and exp claims that span a lifetime');
  }
  return { value: { kid: header.kid, sub, aud: audiences, iat, exp } };
}

export const jwtMissing: JwtReissuePolicy = (input, jwt) => {
  const token = readToken(input, jwt);
  return token.trigger?.reason === ReissueReason.JwtMissing ||
    token.trigger?.reason === ReissueReason.SecretMissing
    ? token.trigger
    : undefined;
};

export const jwtUnreadable: JwtReissuePolicy = (input, jwt) => readToken(input, jwt).trigger;

export const jwtAudienceMismatch: JwtReissuePolicy = (input, jwt) => {
  const token = readToken(input, jwt);
  if (token.trigger !== undefined) return token.trigger;
  if (sameSet(token.value.aud, jwt.audiences)) return undefined;
  return trigger(
    ReissueReason.JwtAudienceMismatch,
    `${jwt.key} is for audiences ${describeSet(token.value.aud)}, not ${describeSet(jwt.audiences)}`,
    jwt.key,
  );
};

export const jwtSubjectMismatch: JwtReissuePolicy = (input, jwt) => {
  const token = readToken(input, jwt);
  if (token.trigger !== undefined) return token.trigger;
  if (token.value.sub === input.spec.spiffeId) return undefined;
  return trigger(
    ReissueReason.JwtSubjectMismatch,
    `${jwt.key} is for subject ${token.value.sub}, not ${input.spec.spiffeId}`,
    jwt.key,
  );
};

export const jwtAuthorityGone: JwtReissuePolicy = (input, jwt) => {
  const token = readToken(input, jwt);
  if (token.trigger !== undefined) return token.trigger;
  const { kid } = token.value;
  const successor = `the active key ${input.activeAuthorityIds.jwt} signs anew`;
  const gone = (why: string) =>
    trigger(ReissueReason.JwtAuthorityGone, `${jwt.key} ${why}; ${successor}`, jwt.key);
  if (kid === undefined) return gone('names no signing key (kid)');
  if (!input.publishableAuthorityIds.jwt.includes(kid)) {
    return gone(`was signed by key ${kid}, which is no longer published (revoked or expired)`);
  }
  if ((input.taintedAuthorityIds ?? []).includes(kid))
    return gone(`was signed by key ${kid}, which is tainted`);
  return undefined;
};

/** When a JWT-SVID is due for renewal; undefined when the token cannot be read. */
export function jwtRenewalDueAt(input: IssuanceInput, jwt: DesiredJwtSvid): Date | undefined {
  const token = readToken(input, jwt);
  if (token.trigger !== undefined) return undefined;
  const lifetime = {
    notBefore: new Date(token.value.iat * 1000),
    notAfter: new Date(token.value.exp * 1000),
  };
  return renewalDueAt(lifetime, input.renewalFraction);
}

export const jwtRenewalDue: JwtReissuePolicy = (input, jwt) => {
  const token = readToken(input, jwt);
  if (token.trigger !== undefined) return token.trigger;
  const notAfter = new Date(token.value.exp * 1000);
  const at = jwtRenewalDueAt(input, jwt) ?? input.now;
  if (input.now.getTime() < at.getTime()) return undefined;
  const state =
    input.now.getTime() >= notAfter.getTime()
      ? `expired at ${notAfter.toISOString()}`
      : `expires at ${notAfter.toISOString()}`;
  return trigger(
    ReissueReason.JwtRenewalDue,
    `${jwt.key} was due for renewal at ${at.toISOString()} and ${state}`,
    jwt.key,
  );
};
