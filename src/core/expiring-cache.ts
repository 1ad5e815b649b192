/**
 * A map whose entries expire after their own time to live and which never holds more than
 * `maxEntries`: when full, expired entries go first, then the oldest. Time comes from `now`, so
 * tests move the clock instead of waiting.
 */
export class ExpiringCache<K, V> {
  readonly #entries = new Map<K, { value: V; expiresAt: number }>();
  readonly #maxEntries: number;
  readonly #now: () => Date;

  constructor({ maxEntries, now }: { maxEntries: number; now: () => Date }) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1)
      throw new Error(`maxEntries must be a positive integer, not ${maxEntries}`);
    this.#maxEntries = maxEntries;
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#now().getTime()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: K, value: V, ttlMs: number): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.#maxEntries) this.#evict();
    this.#entries.set(key, { value, expiresAt: this.#now().getTime() + ttlMs });
  }

  #evict(): void {
    const now = this.#now().getTime();
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key);
    // Maps keep insertion order, and set() re-inserts, so the first key is the oldest write.
    while (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) return;
      this.#entries.delete(oldest.value);
    }
  }
}
