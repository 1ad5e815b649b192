import { z } from 'zod';
import { type PublicJwk, publicJwk } from '../bundle/trust-bundle.ts';
import { type Certificate, CertificateError, keyIdOf, readCertificate, uriSans } from './certificate.ts';
import { authorityTrustDomain } from './spiffe-id.ts';

/**
 * A SPIFFE bundle (the SPIFFE Trust Domain and Bundle spec, section 4) read back: the JWKS Trustline
 * publishes as bundle.spiffe.json, or any other trust domain's. Pure.
 */

export interface BundleX509Authority {
  /** Position in `keys`, so people can find the entry. */
  index: number;
  certificate: Certificate;
  /** The subject key identifier, lower-case hex: the id Trustline gives X.509 authorities. */
  id: string;
  subject: string;
  /** The certificate's URI SANs; a SPIFFE signing certificate has one, spiffe://<trust domain>. */
  uris: string[];
  /** The trust domain the certificate names, when it names one as a SPIFFE signing certificate should. */
  trustDomain: string | undefined;
  notBefore: Date;
  notAfter: Date;
}

export interface BundleJwtAuthority {
  index: number;
  kid: string;
  /** The public members only: what verification imports. */
  jwk: PublicJwk;
  /** SPIFFE bundles rarely name it; a plain JWKS does. */
  alg: string | undefined;
}

export interface SpiffeBundle {
  x509Authorities: BundleX509Authority[];
  jwtAuthorities: BundleJwtAuthority[];
  sequence: number | undefined;
  refreshHintSeconds: number | undefined;
  /** Keys of a `use` other than x509-svid and jwt-svid, which the spec tells consumers to ignore. */
  ignoredKeys: number;
}

/** Text that is not a SPIFFE bundle; the message says which member is wrong. */
export class BundleError extends Error {
  constructor(message: string) {
    super(`not a SPIFFE bundle: ${message}`);
    this.name = 'BundleError';
  }
}

const keySchema = z.looseObject({
  use: z.string().optional(),
  kty: z.string(),
  kid: z.string().optional(),
  alg: z.string().optional(),
  x5c: z.array(z.string()).optional(),
});
const bundleSchema = z.object({
  keys: z.array(keySchema),
  spiffe_sequence: z.int().min(0).optional(),
  spiffe_refresh_hint: z.int().min(0).optional(),
});
type BundleKey = z.infer<typeof keySchema>;

const MISSING = 'is missing';

function describe(error: z.ZodError): string {
  const [issue] = error.issues;
  if (issue === undefined) return 'invalid';
  const path = issue.path.join('.');
  if (path === '') return issue.message;
  return issue.message === MISSING ? `${path} ${MISSING}` : `${path}: ${issue.message}`;
}

function x509Authority(key: BundleKey, index: number): BundleX509Authority {
  const [der, ...more] = key.x5c ?? [];
  if (der === undefined || more.length > 0) {
    throw new BundleError(`keys.${index}.x5c must hold exactly one certificate, not ${key.x5c?.length ?? 0}`);
  }
  let certificate: Certificate;
  try {
    certificate = readCertificate(Buffer.from(der, 'base64'), `keys.${index}.x5c.0`);
  } catch (error) {
    if (error instanceof CertificateError) throw new BundleError(error.message);
    throw error;
  }
  const uris = uriSans(certificate);
  const [uri] = uris;
  return {
    index,
    certificate,
    id: keyIdOf(certificate),
    subject: certificate.parsed.subject,
    uris,
    trustDomain: uris.length === 1 && uri !== undefined ? authorityTrustDomain(uri) : undefined,
    notBefore: certificate.parsed.notBefore,
    notAfter: certificate.parsed.notAfter,
  };
}

function jwtAuthority(key: BundleKey, index: number): BundleJwtAuthority {
  if (key.kid === undefined || key.kid === '') throw new BundleError(`keys.${index}.kid ${MISSING}`);
  let jwk: PublicJwk;
  try {
    jwk = publicJwk(key);
  } catch (error) {
    throw new BundleError(`keys.${index}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { index, kid: key.kid, jwk, alg: key.alg };
}

export function parseSpiffeBundle(text: string): SpiffeBundle {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BundleError('not JSON');
  }
  const parsed = bundleSchema.safeParse(value, {
    error: (issue) => (issue.input === undefined ? MISSING : undefined),
  });
  if (!parsed.success) throw new BundleError(describe(parsed.error));
  const bundle: SpiffeBundle = {
    x509Authorities: [],
    jwtAuthorities: [],
    sequence: parsed.data.spiffe_sequence,
    refreshHintSeconds: parsed.data.spiffe_refresh_hint,
    ignoredKeys: 0,
  };
  parsed.data.keys.forEach((key, index) => {
    if (key.use === 'x509-svid') bundle.x509Authorities.push(x509Authority(key, index));
    else if (key.use === 'jwt-svid') bundle.jwtAuthorities.push(jwtAuthority(key, index));
    else bundle.ignoredKeys += 1;
  });
  return bundle;
}
