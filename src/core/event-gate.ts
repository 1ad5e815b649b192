/** What the gate decides for one routine event: hold it back, or write it with the count it stands for. */
export type GateDecision = { emit: false } | { emit: true; count: number; heldSince: Date | undefined };

/** Beyond this many objects, those whose window has passed are forgotten. */
const PRUNE_ABOVE = 10_000;

/**
 * Lets one routine event per key (an object and a reason) through per window and counts the rest: the
 * next one written after the window says how many it stands for. A thousand SVIDs renewing every few
 * seconds then write a few events a minute, not hundreds.
 */
export class RoutineEventGate {
  readonly #windowMs: number;
  readonly #seen = new Map<string, { writtenAt: number; held: number; heldSince: number | undefined }>();

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  admit(key: string, now: Date): GateDecision {
    const at = now.getTime();
    const seen = this.#seen.get(key);
    if (seen && at - seen.writtenAt < this.#windowMs) {
      seen.held += 1;
      seen.heldSince ??= at;
      return { emit: false };
    }
    if (!seen && this.#seen.size >= PRUNE_ABOVE) this.#prune(at);
    this.#seen.set(key, { writtenAt: at, held: 0, heldSince: undefined });
    return {
      emit: true,
      count: 1 + (seen?.held ?? 0),
      heldSince: seen?.heldSince === undefined ? undefined : new Date(seen.heldSince),
    };
  }

  #prune(at: number): void {
    for (const [key, seen] of this.#seen) if (at - seen.writtenAt >= this.#windowMs) this.#seen.delete(key);
  }
}
