import { z } from 'zod';
import { canonicalJson, type Jwks, type JwksKey } from './trust-bundle.ts';

/**
 * The OIDC discovery documents of a trust domain's JWT issuer, so relying parties that speak OIDC
 * (cloud workload identity federation, for example) can verify JWT-SVIDs. Pure and deterministic.
 */

/** A type alias, not an interface, so it is assignable to Record<string, string>. */
export type OidcDiscoveryFiles = {
  /** Served at <issuer>/.well-known/openid-configuration. */
  'openid-configuration': string;
  /** Served at <issuer>/keys: the JWKS. */
  keys: string;
};

export interface OidcDiscoveryInput {
  /** The iss claim of the JWT-SVIDs, exactly as they carry it. */
  issuer: string;
  /** The published JWT keys: the JWKS object, or the text of jwks.json. */
  jwks: Jwks | string;
}

const jwksKeySchema = z
  .object({ kty: z.string().min(1), kid: z.string().min(1), alg: z.string().min(1), use: z.literal('sig') })
  .catchall(z.string());
const jwksSchema = z.object({ keys: z.array(jwksKeySchema) });

const readJwks = (jwks: Jwks | string): readonly JwksKey[] => {
  if (typeof jwks !== 'string') return jwks.keys;
  let value: unknown;
  try {
    value = JSON.parse(jwks);
  } catch (err) {
    throw new Error('the JWKS is not JSON', { cause: err });
  }
  const parsed = jwksSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`the JWKS is not valid at ${issue?.path.join('.')}: ${issue?.message}`);
  }
  return parsed.data.keys;
};

export const oidcDiscoveryFiles = ({ issuer, jwks }: OidcDiscoveryInput): OidcDiscoveryFiles => {
  const keys = readJwks(jwks);
  const algorithms = [...new Set(keys.map((k) => k.alg))].sort();
  return {
    'openid-configuration': canonicalJson({
      issuer,
      jwks_uri: `${issuer.replace(/\/+$/, '')}/keys`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: algorithms,
    }),
    keys: canonicalJson({ keys }),
  };
};
