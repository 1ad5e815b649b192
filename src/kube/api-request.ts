/** One request the REST client sent, as counted: every label has a bounded set of values. */
export interface ApiRequest {
  /** The apiserver's verb: GET, LIST, WATCH, POST, PUT, PATCH, DELETE, DELETECOLLECTION. */
  verb: string;
  /** The resource with its subresource ("secrets", "registrationentries/status"); never an object's name. */
  resource: string;
  /** "2xx", "4xx"…, or "error" when no response came (refused connection, timeout). */
  code: string;
}

/** Subresources of a namespace, which the path of a namespaced collection would otherwise swallow. */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/**
 * The resource a path names, without namespaces or object names (/api/v1/namespaces/a/secrets/b →
 * "secrets", /apis/g/v1/namespaces/a/leases/b/status → "leases/status"), and whether it is a
 * collection. Paths that name no resource are "discovery" (/api, /apis/g/v1) or "other" (/version).
 */
function parsePath(path: string): { resource: string; collection: boolean } {
  const segments = path.split('/').filter(Boolean);
  const versioned = segments[0] === 'api' ? 2 : segments[0] === 'apis' ? 3 : undefined;
  if (versioned === undefined) return { resource: 'other', collection: false };
  let rest = segments.slice(versioned);
  if (rest.length === 0) return { resource: 'discovery', collection: false };
  if (rest[0] === 'namespaces' && rest.length >= 3 && !NAMESPACE_SUBRESOURCES.has(rest[2] ?? '')) {
    rest = rest.slice(2);
  }
  const [resource = 'other', , subresource] = rest;
  return { resource: subresource ? `${resource}/${subresource}` : resource, collection: rest.length === 1 };
}

/** What a request is counted as, by the verb as the apiserver names it (a GET of a collection is a LIST). */
export function describeRequest(
  method: string,
  path: string,
  query: Record<string, unknown> = {},
): Omit<ApiRequest, 'code'> {
  const { resource, collection } = parsePath(path);
  const upper = method.toUpperCase();
  const verb =
    upper === 'GET' && (query.watch === true || query.watch === 'true')
      ? 'WATCH'
      : collection && upper === 'GET'
        ? 'LIST'
        : collection && upper === 'DELETE'
          ? 'DELETECOLLECTION'
          : upper;
  return { verb, resource };
}

/**
 * The status code's class, so the counter has a handful of values for it; 429 stays apart from the
 * other 4xx, since it says the apiserver's priority level throttled Trustline, not that Trustline erred.
 */
export const codeClass = (status: number | undefined): string =>
  status === undefined ? 'error' : status === 429 ? '429' : `${Math.floor(status / 100)}xx`;
