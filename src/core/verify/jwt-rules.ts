import { compactVerify, decodeJwt, decodeProtectedHeader, errors, importJWK } from 'jose';
import type { BundleJwtAuthority, SpiffeBundle } from './bundle.ts';
import { type Rule, runRules, type SvidVerdict } from './rule.ts';
import { trustDomainOf, workloadIdProblem } from './spiffe-id.ts';
import { expectedTrustDomain, type TrustDomainExpectation } from './trust-domain.ts';

/** The SPIFFE JWT-SVID spec's rules, checked over facts read once from the token and the bundle. */

/** What the JWT-SVID spec allows (section 3.1): a superset of what Trustline signs with. */
export const JWT_SVID_ALGORITHMS: readonly string[] = [
  'RS256',
  'RS384',
  'RS512',
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
];

/** The signature check: done, failed with a reason, or skipped because another rule already fails. */
export type SignatureCheck = { verified: true } | { verified: false; problem: string } | undefined;

export interface JwtSvidFacts {
  header: Readonly<Record<string, unknown>>;
  claims: Readonly<Record<string, unknown>>;
  /** The bundle key the `kid` header names. */
  key: BundleJwtAuthority | undefined;
  signature: SignatureCheck;
  audience: string;
  trustDomain: TrustDomainExpectation;
}

/** A token that is not a JWS compact JWT at all: no rule can be checked. */
export class JwtFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JwtFormatError';
  }
}

const allowedAlgorithm = (alg: unknown): alg is string =>
  typeof alg === 'string' && JWT_SVID_ALGORITHMS.includes(alg);

async function checkSignature(
  token: string,
  alg: unknown,
  key: BundleJwtAuthority | undefined,
): Promise<SignatureCheck> {
  if (key === undefined || !allowedAlgorithm(alg)) return undefined;
  try {
    await compactVerify(token, await importJWK(key.jwk, alg), { algorithms: [alg] });
    return { verified: true };
  } catch (error) {
    const detail =
      error instanceof errors.JWSSignatureVerificationFailed || !(error instanceof Error)
        ? ''
        : ` (${error.message})`;
    return { verified: false, problem: `the signature does not verify with bundle key ${key.kid}${detail}` };
  }
}

/** Decodes the token and checks its signature once; throws JwtFormatError when it is no JWT. */
export async function jwtSvidFacts(
  token: string,
  bundle: SpiffeBundle,
  { audience, trustDomain }: { audience: string; trustDomain?: string },
): Promise<JwtSvidFacts> {
  let header: Readonly<Record<string, unknown>>;
  let claims: Readonly<Record<string, unknown>>;
  try {
    claims = decodeJwt(token);
    header = decodeProtectedHeader(token);
  } catch (error) {
    throw new JwtFormatError(`not a JWS compact JWT${error instanceof Error ? ` (${error.message})` : ''}`);
  }
  const key = bundle.jwtAuthorities.find((authority) => authority.kid === header.kid);
  return {
    header,
    claims,
    key,
    signature: await checkSignature(token, header.alg, key),
    audience,
    trustDomain: expectedTrustDomain(bundle, trustDomain),
  };
}

const subjectOf = ({ claims }: JwtSvidFacts): string | undefined =>
  typeof claims.sub === 'string' ? claims.sub : undefined;

const audiencesOf = ({ claims }: JwtSvidFacts): string[] | undefined => {
  const { aud } = claims;
  if (typeof aud === 'string') return [aud];
  if (Array.isArray(aud) && aud.every((value) => typeof value === 'string')) return aud;
  return undefined;
};

const secondsClaim = (claims: Readonly<Record<string, unknown>>, name: string): number | undefined => {
  const value = claims[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
};

const instant = (seconds: number): string => new Date(seconds * 1000).toISOString();

export const jwtSvidRules: readonly Rule<JwtSvidFacts>[] = [
  {
    name: 'alg',
    check: ({ header }) =>
      allowedAlgorithm(header.alg)
        ? undefined
        : `alg ${JSON.stringify(header.alg ?? null)} is not one of ${JWT_SVID_ALGORITHMS.join(', ')}`,
  },
  {
    name: 'kid-present',
    check: ({ header }) =>
      typeof header.kid === 'string' && header.kid !== '' ? undefined : 'the header has no kid',
  },
  {
    name: 'kid-in-bundle',
    check: ({ header, key }) =>
      typeof header.kid !== 'string' || header.kid === '' || key !== undefined
        ? undefined
        : `kid ${JSON.stringify(header.kid)} names no jwt-svid key in the bundle`,
  },
  {
    name: 'signature',
    check: ({ signature }) => (signature?.verified === false ? signature.problem : undefined),
  },
  {
    name: 'sub-spiffe-id',
    check: (facts) => {
      const sub = subjectOf(facts);
      return sub === undefined ? 'sub is missing' : workloadIdProblem(sub);
    },
  },
  {
    name: 'trust-domain',
    check: (facts) => {
      const sub = subjectOf(facts);
      if (sub === undefined || workloadIdProblem(sub) !== undefined) return undefined;
      if ('problem' in facts.trustDomain) return facts.trustDomain.problem;
      const domain = trustDomainOf(sub);
      return domain === facts.trustDomain.trustDomain
        ? undefined
        : `${sub} is in trust domain ${domain}, the bundle is for ${facts.trustDomain.trustDomain}`;
    },
  },
  {
    name: 'audience',
    check: (facts) => {
      const audiences = audiencesOf(facts);
      if (audiences === undefined || audiences.length === 0) return 'aud is missing';
      return audiences.includes(facts.audience)
        ? undefined
        : `aud ${JSON.stringify(audiences)} does not contain ${JSON.stringify(facts.audience)}`;
    },
  },
  {
    name: 'exp-present',
    check: ({ claims }) => (secondsClaim(claims, 'exp') === undefined ? 'exp is missing' : undefined),
  },
  {
    name: 'not-expired',
    check: ({ claims }, now) => {
      const exp = secondsClaim(claims, 'exp');
      return exp !== undefined && now.getTime() >= exp * 1000 ? `expired at ${instant(exp)}` : undefined;
    },
  },
  {
    name: 'not-before',
    check: ({ claims }, now) => {
      const nbf = secondsClaim(claims, 'nbf');
      return nbf !== undefined && now.getTime() < nbf * 1000 ? `not valid before ${instant(nbf)}` : undefined;
    },
  },
];

/** Checks every rule of a JWT-SVID against a bundle, for one audience. */
export async function verifyJwtSvid(
  token: string,
  bundle: SpiffeBundle,
  options: { now: Date; audience: string; trustDomain?: string },
): Promise<SvidVerdict> {
  const facts = await jwtSvidFacts(token, bundle, options);
  return {
    kind: 'jwt-svid',
    spiffeId: subjectOf(facts),
    failures: runRules(jwtSvidRules, facts, options.now),
  };
}
