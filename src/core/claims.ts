import { dnsNameSchema } from '../api/registrationentry.ts';
import type { TrustDomainSpec } from '../api/trustdomain.ts';
import { selectorMatches } from './selector.ts';

/**
 * Whether a namespace may claim a SPIFFE ID path and DNS names in a trust domain. Pure: the namespace's
 * labels and the TrustDomain's grants are passed in.
 *
 * By default a namespace owns `/ns/<namespace>` and every path below it, matched by whole segments
 * (`/ns/foo` is not a prefix of `/ns/foobar`). The bare `/ns/<namespace>` is allowed too: it names
 * nothing another namespace could want, and some workloads need only one identity. DNS names are
 * those of the namespace's own Services, one label before the namespace: `<svc>.<ns>`,
 * `<svc>.<ns>.svc` and `<svc>.<ns>.svc.<clusterDomain>`. Anything else, such as StatefulSet pod names
 * (`web-0.web.<ns>.svc…`) or public names, needs a grant.
 */

export type ClaimGrant = NonNullable<TrustDomainSpec['grants']>[number];

/** Condition reasons: one per way a claim fails. */
export type ClaimRule =
  | 'PathNotAbsolute'
  | 'PathTrailingSlash'
  | 'PathEmptySegment'
  | 'PathDotSegment'
  | 'PathInvalidCharacter'
  | 'SPIFFEIDTooLong'
  | 'PathNotAllowed'
  | 'InvalidDNSName'
  | 'DNSNameNotAllowed';

export type ClaimVerdict = { allowed: true } | { allowed: false; rule: ClaimRule; message: string };

export interface ClaimInput {
  namespace: string;
  namespaceLabels: Readonly<Record<string, string>> | undefined;
  /** The trust domain name, which counts towards the 2048-byte limit of the whole SPIFFE ID. */
  trustDomain: string;
  spiffeIDPath: string;
  dnsNames?: readonly string[] | undefined;
  grants?: readonly ClaimGrant[] | undefined;
  /** The cluster's DNS domain; `cluster.local` when unset. */
  clusterDomain?: string | undefined;
}

export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/** SPIFFE ID spec, section 2.3: URIs longer than this are refused by many parsers. */
export const MAX_SPIFFE_ID_BYTES = 2048;

const SEGMENT_CHARACTERS = /^[A-Za-z0-9._-]+$/;

type Refusal = Extract<ClaimVerdict, { allowed: false }>;

const refuse = (rule: ClaimRule, message: string): Refusal => ({ allowed: false, rule, message });

/**
 * The first way `path` breaks the SPIFFE ID path rules (SPIFFE ID spec, section 2.2), or undefined.
 * The same rules as the CRD's, checked here too because a claim must never rest on input the apiserver
 * was only supposed to have validated.
 */
export function pathProblem(trustDomain: string, path: string): Refusal | undefined {
  const quoted = JSON.stringify(path);
  if (!path.startsWith('/')) return refuse('PathNotAbsolute', `SPIFFE ID path ${quoted} must start with /`);
  if (path.endsWith('/')) return refuse('PathTrailingSlash', `SPIFFE ID path ${quoted} must not end with /`);
  const segments = path.slice(1).split('/');
  if (segments.includes('')) {
    return refuse('PathEmptySegment', `SPIFFE ID path ${quoted} must not contain an empty path segment`);
  }
  const dot = segments.find((segment) => segment === '.' || segment === '..');
  if (dot !== undefined) {
    return refuse('PathDotSegment', `SPIFFE ID path ${quoted} must not contain a '${dot}' path segment`);
  }
  const invalid = segments.find((segment) => !SEGMENT_CHARACTERS.test(segment));
  if (invalid !== undefined) {
    return refuse(
      'PathInvalidCharacter',
      `SPIFFE ID path ${quoted}: segment ${JSON.stringify(invalid)} may only contain letters, digits, '.', '-' and '_'`,
    );
  }
  const bytes = Buffer.byteLength(`spiffe://${trustDomain}${path}`, 'utf8');
  if (bytes > MAX_SPIFFE_ID_BYTES) {
    return refuse(
      'SPIFFEIDTooLong',
      `SPIFFE ID spiffe://${trustDomain}${path} is ${bytes} bytes long; at most ${MAX_SPIFFE_ID_BYTES} are allowed`,
    );
  }
  return undefined;
}

/**
 * Whether `path` is `prefix` or lies below it, by whole segments. Trailing slashes of the prefix are
 * ignored, so a grant of `/team/a/` means `/team/a` and a grant of `/` means every path. A prefix not
 * starting with '/' matches nothing rather than being guessed at.
 */
export function pathUnderPrefix(path: string, prefix: string): boolean {
  if (!prefix.startsWith('/')) return false;
  const base = prefix.replace(/\/+$/, '');
  return base === '' || path === base || path.startsWith(`${base}/`);
}

/** Whether `name` is `pattern`, or, for a pattern `*.<rest>`, exactly one label followed by `.<rest>`. */
export function dnsNameMatches(name: string, pattern: string): boolean {
  const normalized = pattern.toLowerCase().replace(/\.$/, '');
  if (!normalized.startsWith('*.')) return name === normalized;
  const rest = normalized.slice(1);
  if (!name.endsWith(rest)) return false;
  const label = name.slice(0, -rest.length);
  return label !== '' && !label.includes('.') && !label.includes('*');
}

/** The namespace's own path: itself and everything below it. */
export const namespacePathPrefix = (namespace: string): string => `/ns/${namespace}`;

/** The Service name forms a namespace owns, as patterns for people to read. */
export function namespaceServiceNameForms(namespace: string, clusterDomain: string): string[] {
  return [`<svc>.${namespace}.svc`, `<svc>.${namespace}.svc.${clusterDomain}`];
}

/**
 * Whether `name` is one label followed by one of the namespace's Service suffixes. The short form
 * `<svc>.<namespace>` is left out: a namespace named like a public domain (`com`) would claim public
 * names with it.
 */
function isNamespaceServiceName(name: string, namespace: string, clusterDomain: string): boolean {
  const suffixes = [`.${namespace}.svc`, `.${namespace}.svc.${clusterDomain}`];
  return suffixes.some((suffix) => {
    if (!name.endsWith(suffix)) return false;
    const label = name.slice(0, -suffix.length);
    return label !== '' && !label.includes('.');
  });
}

const list = (items: readonly string[]): string => items.join(', ');

/**
 * Whether `namespace` may claim `spiffeIDPath` and every one of `dnsNames`. The first problem found
 * is returned: the path's syntax, then whether the path is the namespace's, then each DNS name in
 * order.
 */
export function checkClaim(input: ClaimInput): ClaimVerdict {
  const { namespace, namespaceLabels, trustDomain, spiffeIDPath, dnsNames = [], grants = [] } = input;
  const clusterDomain = (input.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN).replace(/\.$/, '');
  const matching = grants.filter((grant) => selectorMatches(grant.namespaceSelector, namespaceLabels));
  const grantedPrefixes = [...new Set(matching.flatMap((grant) => grant.spiffeIDPathPrefixes ?? []))];
  const grantedNames = [...new Set(matching.flatMap((grant) => grant.dnsNames ?? []))];

  const problem = pathProblem(trustDomain, spiffeIDPath);
  if (problem !== undefined) return problem;

  const ownPrefix = namespacePathPrefix(namespace);
  const pathPrefixes = [ownPrefix, ...grantedPrefixes];
  if (!pathPrefixes.some((prefix) => pathUnderPrefix(spiffeIDPath, prefix))) {
    const granted =
      grantedPrefixes.length === 0 ? '' : `, or paths under the granted ${list(grantedPrefixes)}`;
    return refuse(
      'PathNotAllowed',
      `namespace ${namespace} may not claim SPIFFE ID path ${spiffeIDPath}: it may claim ${ownPrefix} and paths below it${granted}`,
    );
  }

  for (const name of dnsNames) {
    const parsed = dnsNameSchema.safeParse(name);
    if (!parsed.success) {
      const why = parsed.error.issues.map((issue) => issue.message).join('; ');
      return refuse('InvalidDNSName', `DNS name ${JSON.stringify(name)} ${why}`);
    }
    const allowed =
      isNamespaceServiceName(name, namespace, clusterDomain) ||
      grantedNames.some((pattern) => dnsNameMatches(name, pattern));
    if (!allowed) {
      const own = list(namespaceServiceNameForms(namespace, clusterDomain));
      const granted = grantedNames.length === 0 ? '' : `, or the granted ${list(grantedNames)}`;
      return refuse(
        'DNSNameNotAllowed',
        `namespace ${namespace} may not claim DNS name ${name}: it may claim its Service names ${own}${granted}`,
      );
    }
  }
  return { allowed: true };
}
