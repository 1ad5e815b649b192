/** How one attempt of a request failed, as far as sending it again is concerned. */
export type TransientFailure =
  /** No connection was made: nothing reached the apiserver. */
  | { kind: 'unsent' }
  /** The connection broke while the request was under way: it may have landed. */
  | { kind: 'broken' }
  /** No complete answer within the client's bound: it may have landed. */
  | { kind: 'timeout' }
  /**
   * The apiserver answered with a 5xx that may pass (etcd slow, apiserver starting, a proxy between),
   * with the wait its Retry-After asked for, if any.
   */
  | { kind: 'status'; status: number; retryAfterMs?: number };

/** Statuses worth a second try; a 501 or 505 will not change. */
const TRANSIENT_STATUSES = new Set([500, 502, 503, 504]);

export const isTransientStatus = (status: number): boolean => TRANSIENT_STATUSES.has(status);

/** Patches that give the same object however often they land (a JSON patch's remove would fail the second time). */
const IDEMPOTENT_PATCHES = new Set(['application/apply-patch+yaml', 'application/merge-patch+json']);

/**
 * Whether a request that failed so may be sent again without changing what it does. A request that
 * never left is always safe; one that may have landed only when sending it twice is the same as once:
 * reads, server-side apply and merge patches. A PUT or DELETE under a resourceVersion precondition
 * would come back as a 409 its caller takes for someone else's write, and a POST may create twice.
 * A timeout is sent again only for reads: a slow write is left to the caller's own requeue.
 */
export function isSafeToRetry(
  method: string,
  contentType: string | undefined,
  failure: TransientFailure,
): boolean {
  if (failure.kind === 'unsent') return true;
  const verb = method.toUpperCase();
  const read = verb === 'GET' || verb === 'HEAD';
  if (failure.kind === 'timeout') return read;
  return read || (verb === 'PATCH' && IDEMPOTENT_PATCHES.has(contentType ?? ''));
}

const BASE_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 5_000;

/**
 * The wait before sending a request again after its `attempt`-th transient failure (0 for the first):
 * doubling from 200 ms up to 5 s, with jitter from `random` in [0, 1) so clients that failed together
 * do not come back together; never sooner than a 5xx's Retry-After asked, as client-go waits.
 */
export function transientBackoffMs(attempt: number, random: number, failure?: TransientFailure): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** attempt);
  const backoff = Math.round(ceiling * (0.5 + random / 2));
  const asked = failure?.kind === 'status' ? (failure.retryAfterMs ?? 0) : 0;
  return Math.max(backoff, asked);
}
