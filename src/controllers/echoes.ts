import type { ChangeType, KubeObject } from '../kube/informer.ts';
import { objectKey } from '../kube/informer.ts';
import type { CacheName } from './definitions.ts';

/** Long enough for a watch that trails the apiserver by seconds; an echo later than that costs a pass. */
export const ECHO_TTL_MS = 30_000;

/**
 * The writes a controller made whose watch events need not wake it again: it wrote them and went on
 * from what it wrote. Keyed by the exact resourceVersion the apiserver returned, so any other version
 * of the object (a tenant's edit, a version between two of Trustline's) still wakes the controller,
 * and a deletion always does. Each expectation is spent by its echo or expires.
 */
export class Echoes {
  readonly #now: () => number;
  readonly #expected = new Map<string, { resourceVersion: string; at: number }>();
  /** The keys being reconciled, each with the changes held until its reconcile ends. */
  readonly #running = new Map<string, (() => void)[]>();
  #sweepAt = 1_024;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** The object `key` of `cache` is at `resourceVersion` because `controller` just wrote it so. */
  expect(controller: string, cache: CacheName, key: string, resourceVersion: string): void {
    if (resourceVersion === '') return;
    this.#expected.set(`${controller}\n${cache}\n${key}`, { resourceVersion, at: this.#now() });
    if (this.#expected.size >= this.#sweepAt) this.#sweep();
  }

  /** A pass that found the cache behind its write did not go on from it: the echo must wake it. */
  forget(controller: string, cache: CacheName, key: string): void {
    this.#expected.delete(`${controller}\n${cache}\n${key}`);
  }

  /** The reconcile of `key` began: changes that wake it wait for its end. */
  started(controller: string, key: string): void {
    this.#running.set(`${controller}\n${key}`, []);
  }

  /** The reconcile of `key` ended: the writes it made are known, and what it held is decided. */
  finished(controller: string, key: string): void {
    const id = `${controller}\n${key}`;
    const held = this.#running.get(id) ?? [];
    this.#running.delete(id);
    for (const decide of held) decide();
  }

  /**
   * Calls `wake` for a change that asks `controller` to look at `key`, unless the change is the echo of
   * the controller's own write. A watch event can come before the response to the write it echoes: a
   * change for a key being reconciled waits until that reconcile has ended and told what it wrote.
   */
  route(
    controller: string,
    cache: CacheName,
    change: ChangeType,
    object: KubeObject,
    key: string,
    wake: () => void,
  ): void {
    if (this.absorbs(controller, cache, change, object)) return;
    const held = this.#running.get(`${controller}\n${key}`);
    if (held)
      held.push(() => {
        if (!this.absorbs(controller, cache, change, object)) wake();
      });
    else wake();
  }

  /** Whether this change is the echo of the controller's own write: then it is not woken for it. */
  absorbs(controller: string, cache: CacheName, change: ChangeType, object: KubeObject): boolean {
    const id = `${controller}\n${cache}\n${objectKey(object)}`;
    const expected = this.#expected.get(id);
    if (expected === undefined) return false;
    if (this.#now() - expected.at >= ECHO_TTL_MS) {
      this.#expected.delete(id);
      return false;
    }
    if (change === 'deleted' || object.metadata.resourceVersion !== expected.resourceVersion) return false;
    this.#expected.delete(id);
    return true;
  }

  /** Echoes lost to a relist are never seen: their expectations go once expired. */
  #sweep(): void {
    const now = this.#now();
    for (const [id, { at }] of this.#expected) if (now - at >= ECHO_TTL_MS) this.#expected.delete(id);
    this.#sweepAt = Math.max(1_024, 2 * this.#expected.size);
  }
}
