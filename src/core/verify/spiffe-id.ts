import { trustDomainNameSchema } from '../../api/trustdomain.ts';
import { checkSpiffeId, SvidError } from '../svid/validation.ts';

const SCHEME = 'spiffe://';

/** The trust domain part of a spiffe:// URI, read without judging the rest; undefined for other URIs. */
export const trustDomainOf = (uri: string): string | undefined =>
  uri.startsWith(SCHEME) ? uri.slice(SCHEME.length).split('/')[0] : undefined;

/**
 * Why `uri` is not a workload SPIFFE ID, or undefined when it is one. The same rules minting applies,
 * so what Trustline refuses to issue it also refuses to accept.
 */
export function workloadIdProblem(uri: string): string | undefined {
  try {
    checkSpiffeId(uri, undefined);
    return undefined;
  } catch (error) {
    if (error instanceof SvidError) return error.message;
    throw error;
  }
}

/** The trust domain a signing certificate names as spiffe://<trust domain>, with no path; else undefined. */
export function authorityTrustDomain(uri: string): string | undefined {
  const domain = trustDomainOf(uri);
  return domain !== undefined &&
    uri === `${SCHEME}${domain}` &&
    trustDomainNameSchema.safeParse(domain).success
    ? domain
    : undefined;
}
