/** When a 429 names no delay, as client-go assumes. */
const DEFAULT_RETRY_AFTER_MS = 1_000;
/** A server that asks for longer is not waited on: the caller's own backoff takes over. */
const MAX_RETRY_AFTER_MS = 60_000;

/**
 * How long to wait before sending again a request the apiserver answered with 429 Too Many Requests:
 * its Retry-After header, in seconds or as an HTTP date (RFC 9110 section 10.2.3), at least a moment
 * and at most a minute.
 */
export function retryAfterMs(header: string | null | undefined, now: Date): number {
  const text = header?.trim() ?? '';
  let ms: number | undefined;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else if (text !== '') {
    const at = Date.parse(text);
    if (Number.isFinite(at)) ms = at - now.getTime();
  }
  if (ms === undefined) return DEFAULT_RETRY_AFTER_MS;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(100, ms));
}
