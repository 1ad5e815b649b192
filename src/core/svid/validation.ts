import { CodedError } from '../errors.ts';

export type SvidErrorCode =
  | 'InvalidSpiffeId'
  | 'TrustDomainMismatch'
  | 'InvalidDnsName'
  | 'InvalidAudience'
  | 'InvalidTtl'
  | 'InvalidTime'
  | 'AuthorityExpired'
  | 'AuthorityUnusable';

/** Why an SVID cannot be minted: a request that breaks the SPIFFE rules, or an unusable authority. */
export class SvidError extends CodedError<SvidErrorCode> {}

/** The SPIFFE ID spec caps the URI at 2048 bytes and the trust domain at 255 characters. */
const MAX_SPIFFE_ID = 2048;
const MAX_TRUST_DOMAIN = 255;
const MAX_DNS_NAME = 253;
const SPIFFE_ID = /^spiffe:\/\/([a-z0-9._-]+)((?:\/[A-Za-z0-9._-]+)+)$/;
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Inputs are quoted so people see stray spaces or capitals; long ones are cut short. */
const quote = (value: string): string => JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);

/**
 * Checks a workload SPIFFE ID: `spiffe://<trustDomain>/<path>` with a non-empty path of segments
 * made of letters, digits, '.', '-' and '_', none of them '.' or '..', no trailing '/', and no query,
 * fragment, port or user part (the SPIFFE ID spec, section 2).
 */
export function checkSpiffeId(spiffeId: string, trustDomain: string | undefined): void {
  const match = SPIFFE_ID.exec(spiffeId);
  const [, domain = '', path = ''] = match ?? [];
  if (match === null || spiffeId.length > MAX_SPIFFE_ID || domain.length > MAX_TRUST_DOMAIN) {
    throw new SvidError(
      'InvalidSpiffeId',
      `${quote(spiffeId)} is not a workload SPIFFE ID: write spiffe://<trust domain>/<path>, with a lower-case trust domain and a non-empty path of letters, digits, '.', '-' and '_', at most ${MAX_SPIFFE_ID} characters`,
    );
  }
  if (path.split('/').some((segment) => segment === '.' || segment === '..')) {
    throw new SvidError('InvalidSpiffeId', `${quote(spiffeId)} has a '.' or '..' path segment`);
  }
  if (trustDomain !== undefined && domain !== trustDomain) {
    throw new SvidError(
      'TrustDomainMismatch',
      `${quote(spiffeId)} is in trust domain ${domain}, but the authority signs for ${trustDomain}`,
    );
  }
}

/**
 * Checks DNS names for dNSName SANs: lower-case host names (RFC 1123 labels), optionally with a
 * leading `*.` wildcard, no trailing dot, and not an IP address. Returns them without repeats.
 */
export function checkDnsNames(dnsNames: readonly string[]): string[] {
  for (const name of dnsNames) {
    const labels = (name.startsWith('*.') ? name.slice(2) : name).split('.');
    const last = labels[labels.length - 1] ?? '';
    if (name.length > MAX_DNS_NAME || !labels.every((label) => DNS_LABEL.test(label)) || /^\d+$/.test(last)) {
      throw new SvidError(
        'InvalidDnsName',
        `${quote(name)} is not a DNS name: use lower-case labels of letters, digits and '-', optionally after a leading '*.', at most ${MAX_DNS_NAME} characters in all, and no IP addresses`,
      );
    }
  }
  return [...new Set(dnsNames)];
}

/** Each audience is a non-empty string, and a JWT-SVID has at least one (SPIFFE JWT-SVID spec, 3.2). */
export function checkAudiences(audiences: readonly string[]): string[] {
  if (audiences.length === 0) {
    throw new SvidError('InvalidAudience', 'a JWT-SVID needs at least one audience');
  }
  if (audiences.some((audience) => audience.length === 0)) {
    throw new SvidError('InvalidAudience', 'an audience is the empty string');
  }
  return [...new Set(audiences)];
}

/**
 * The whole second an SVID expires: `ttlMs` after `now`, but never after its authority. Certificates
 * and JWTs count whole seconds, hence the floor and the one-second minimum, which keep the SVID
 * valid when issued.
 */
export function svidNotAfter(now: Date, ttlMs: number, authorityNotAfter: Date): Date {
  const at = now.getTime();
  if (!Number.isFinite(at)) throw new SvidError('InvalidTime', 'now is not a valid date');
  if (!Number.isFinite(ttlMs) || ttlMs < 1000) {
    throw new SvidError('InvalidTtl', `the lifetime must be at least one second, not ${ttlMs} ms`);
  }
  const capped = Math.min(at + ttlMs, authorityNotAfter.getTime());
  const notAfter = Math.floor(capped / 1000) * 1000;
  if (notAfter <= at) {
    throw new SvidError(
      'AuthorityExpired',
      `the authority is valid until ${authorityNotAfter.toISOString()}: too late to issue an SVID at ${now.toISOString()}`,
    );
  }
  return new Date(notAfter);
}
