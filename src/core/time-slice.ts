/**
 * How long a loop may run before it lets timers and I/O in: short enough that the leader Lease's
 * renewal and the watches never wait noticeably behind a scan of thousands of cached objects.
 */
export const SLICE_MS = 5;

export interface TimeSliceOptions {
  sliceMs?: number;
  /** Milliseconds on a monotonic clock. */
  now?: () => number;
  /** One turn of the event loop. */
  pause?: () => Promise<void>;
}

/**
 * A checkpoint for long work: `await checkpoint()` returns at once while the current slice lasts,
 * and after a turn of the event loop once it has run `sliceMs`. Time-sliced rather than every N items,
 * as the cost of an item ranges from a map lookup to a certificate parsed. Callers that reach a spent
 * slice together take turns, one for each: released in the same turn, thirty reconciles would run back
 * to back before any timer.
 */
export function timeSlicer({
  sliceMs = SLICE_MS,
  now = () => performance.now(),
  pause = () => new Promise<void>((resolve) => setImmediate(resolve)),
}: TimeSliceOptions = {}): () => Promise<void> {
  let started = now();
  let turns = Promise.resolve();
  return async () => {
    if (now() - started < sliceMs) return;
    const mine = turns.then(pause);
    turns = mine;
    await mine;
    started = now();
  };
}

/** The items one by one, with a turn of the event loop whenever a slice of work has run out. */
export async function* inSlices<T>(items: Iterable<T>, options?: TimeSliceOptions): AsyncGenerator<T> {
  const checkpoint = timeSlicer(options);
  for (const item of items) {
    await checkpoint();
    yield item;
  }
}
