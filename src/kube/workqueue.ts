import type { Logger } from 'pino';
import { timeSlicer } from '../core/time-slice.ts';
import { TokenBucket } from '../core/token-bucket.ts';

/** What a reconcile asks for: nothing (done until the next change), or another look after a delay. */
export type ReconcileResult = undefined | { requeueAfterMs: number };

export interface WorkQueueOptions {
  name: string;
  reconcile: (key: string) => Promise<ReconcileResult>;
  log: Logger;
  /** How many keys are reconciled at once; one key is never reconciled twice at the same time. */
  concurrency: number;
  /** Per-key exponential backoff after failures. */
  backoff?: { initialMs: number; maxMs: number };
  /** Overall token bucket across all keys. */
  rate?: { perSecond: number; burst: number };
  /**
   * Workers kept free for flows that have nothing running, so a flow that arrives while another
   * fills the queue starts at once rather than after one of that flow's reconciles ends. 0 by default.
   */
  reservedForNewFlows?: number;
  /**
   * Keys are taken but nothing is reconciled until `resume()`: a standby replica keeps what its
   * caches report and writes nothing until it leads.
   */
  paused?: boolean;
  now?: () => number;
  /** Awaited before each reconcile, to let the event loop turn: a time slicer by default. */
  checkpoint?: () => Promise<void>;
}

/** The flow a key belongs to: its namespace (`namespace/name`), or '' for a cluster-scoped key. */
export const flowOf = (key: string): string => {
  const slash = key.indexOf('/');
  return slash < 0 ? '' : key.slice(0, slash);
};

/** A FIFO whose shift is O(1): a namespace may queue thousands of keys. */
class Fifo {
  #items: string[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: string): void {
    this.#items.push(item);
  }

  shift(): string | undefined {
    const item = this.#items[this.#head];
    this.#head += 1;
    if (this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}

/**
 * A work queue in the manner of client-go's: a key waits at most once however often it is added, a key
 * added while it is being reconciled runs again afterwards, failures back off per key, and an overall
 * token bucket bounds the request rate. Keys wait in one FIFO per namespace, served round-robin (as
 * the apiserver's fair queuing serves flows), so a namespace with thousands of keys delays another
 * namespace's next key by at most one key of each busy namespace.
 */
export class WorkQueue {
  readonly #options: WorkQueueOptions;
  readonly #now: () => number;
  /** Flows with waiting keys; the Map's order is the round-robin order. */
  readonly #flows = new Map<string, Fifo>();
  #waiting = 0;
  readonly #queued = new Set<string>();
  readonly #active = new Set<string>();
  readonly #activePerFlow = new Map<string, number>();
  /** Taken off the queue, reconcile not yet begun: it will read the latest state, so adds fold in. */
  readonly #starting = new Set<string>();
  readonly #dirty = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  readonly #idle = new Set<() => void>();
  readonly #bucket: TokenBucket | undefined;
  readonly #checkpoint: () => Promise<void>;
  #pumpTimer: NodeJS.Timeout | undefined;
  #shuttingDown = false;
  #paused: boolean;

  constructor(options: WorkQueueOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#bucket = options.rate && new TokenBucket(options.rate, this.#now());
    this.#checkpoint = options.checkpoint ?? timeSlicer();
    this.#paused = options.paused ?? false;
  }

  /** Starts reconciling the keys taken while paused, and every key after. */
  resume(): void {
    this.#paused = false;
    this.#pump();
  }

  get length(): number {
    return this.#waiting;
  }

  add(key: string): void {
    if (this.#shuttingDown) return;
    const delayed = this.#delayed.get(key);
    if (delayed) {
      clearTimeout(delayed.timer);
      this.#delayed.delete(key);
    }
    if (this.#starting.has(key)) return;
    if (this.#active.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    const flow = flowOf(key);
    let fifo = this.#flows.get(flow);
    if (!fifo) {
      fifo = new Fifo();
      this.#flows.set(flow, fifo);
    }
    fifo.push(key);
    this.#waiting += 1;
    this.#pump();
  }

  /** Adds the key after a delay; an earlier pending delay for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = this.#now() + delayMs;
    const existing = this.#delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.#delayed.set(key, { at, timer });
  }

  /**
   * Stops taking work, drops delayed keys, and waits for reconciles in flight to finish, at most
   * `graceMs`; says whether they all did.
   */
  async shutdown(graceMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    this.#shuttingDown = true;
    for (const { timer } of this.#delayed.values()) clearTimeout(timer);
    this.#delayed.clear();
    clearTimeout(this.#pumpTimer);
    this.#flows.clear();
    this.#waiting = 0;
    this.#queued.clear();
    if (this.#active.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      new Promise<true>((resolve) => this.#idle.add(() => resolve(true))),
      ...(Number.isFinite(graceMs)
        ? [new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), graceMs)))]
        : []),
    ]);
    clearTimeout(timer);
    return drained;
  }

  /** The first flow in round-robin order that may start a key now. */
  #nextFlow(): string | undefined {
    const { concurrency, reservedForNewFlows = 0 } = this.#options;
    for (const flow of this.#flows.keys()) {
      if ((this.#activePerFlow.get(flow) ?? 0) === 0) return flow;
      if (this.#active.size < concurrency - reservedForNewFlows) return flow;
    }
    return undefined;
  }

  /** Takes the flow's oldest key and moves the flow to the back of the round. */
  #take(flow: string): string | undefined {
    const fifo = this.#flows.get(flow);
    const key = fifo?.shift();
    this.#flows.delete(flow);
    if (fifo && fifo.length > 0) this.#flows.set(flow, fifo);
    if (key !== undefined) this.#waiting -= 1;
    return key;
  }

  #pump(): void {
    while (!this.#shuttingDown && !this.#paused && this.#active.size < this.#options.concurrency) {
      const flow = this.#nextFlow();
      if (flow === undefined) return;
      const wait = this.#bucket?.tryTake(this.#now()) ?? 0;
      if (wait > 0) {
        if (!this.#pumpTimer) {
          this.#pumpTimer = setTimeout(() => {
            this.#pumpTimer = undefined;
            this.#pump();
          }, wait);
        }
        return;
      }
      const key = this.#take(flow);
      if (key === undefined) return;
      this.#queued.delete(key);
      this.#active.add(key);
      this.#activePerFlow.set(flow, (this.#activePerFlow.get(flow) ?? 0) + 1);
      this.#starting.add(key);
      // Never on the caller's stack: an informer adds a key before its cache holds the object.
      queueMicrotask(() => void this.#start(key));
    }
  }

  /**
   * Reconciles that send no request would otherwise follow one another in microtasks alone, so a
   * thousand of them would hold timers (the Lease's renewal) and I/O back: the queue lets the event
   * loop turn whenever a slice of work has run out.
   */
  async #start(key: string): Promise<void> {
    await this.#checkpoint();
    this.#starting.delete(key);
    await this.#process(key);
  }

  async #process(key: string): Promise<void> {
    const { log, name, backoff = { initialMs: 100, maxMs: 60_000 } } = this.#options;
    let retryAfter: number | undefined;
    try {
      // A key that waited for its turn while the queue shut down (the Lease lost, say) is not begun.
      const result = this.#shuttingDown ? undefined : await this.#options.reconcile(key);
      this.#failures.delete(key);
      retryAfter = result?.requeueAfterMs;
      log.debug({ queue: name, key, requeueAfterMs: retryAfter }, 'reconciled');
    } catch (error) {
      const failures = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, failures);
      retryAfter = Math.min(backoff.maxMs, backoff.initialMs * 2 ** (failures - 1));
      log.warn({ queue: name, key, err: error, failures, retryInMs: retryAfter }, 'reconcile failed');
    } finally {
      this.#active.delete(key);
      const flow = flowOf(key);
      const running = (this.#activePerFlow.get(flow) ?? 1) - 1;
      if (running > 0) this.#activePerFlow.set(flow, running);
      else this.#activePerFlow.delete(flow);
    }
    if (this.#dirty.delete(key)) this.add(key);
    else if (retryAfter !== undefined) this.addAfter(key, retryAfter);
    if (this.#active.size === 0) {
      for (const resolve of this.#idle) resolve();
      this.#idle.clear();
    }
    this.#pump();
  }
}
