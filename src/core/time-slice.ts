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
 * A checkpoint for a long loop: `await checkpoint()` returns at once while the current slice lasts,
 * and after a turn of the event loop once it has run `sliceMs`. Time-sliced rather than every N items,
 * as the cost of an item ranges from a map lookup to a JWT decoded.
 */
export function timeSlicer({
  sliceMs = SLICE_MS,
  now = () => performance.now(),
  pause = () => new Promise<void>((resolve) => setImmediate(resolve)),
}: TimeSliceOptions = {}): () => Promise<void> {
  let started = now();
  return async () => {
    if (now() - started < sliceMs) return;
    await pause();
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
