import type { KubeObject } from './objects.ts';

/**
 * An informer's objects by key, with an index by namespace kept in step: a controller that needs one
 * namespace's pods or entries reads only those, not every object in the cluster.
 */
export class ObjectStore {
  readonly #objects = new Map<string, KubeObject>();
  readonly #byNamespace = new Map<string, Map<string, KubeObject>>();

  get size(): number {
    return this.#objects.size;
  }

  get(key: string): KubeObject | undefined {
    return this.#objects.get(key);
  }

  /** Live: an entry deleted while iterating is skipped, as a Map's iterator does. */
  entries(): IterableIterator<[string, KubeObject]> {
    return this.#objects.entries();
  }

  values(): IterableIterator<KubeObject> {
    return this.#objects.values();
  }

  /** The objects of one namespace; those of cluster-scoped resources are under ''. */
  inNamespace(namespace: string): KubeObject[] {
    return [...(this.#byNamespace.get(namespace)?.values() ?? [])];
  }

  set(key: string, object: KubeObject): void {
    // A key names its namespace, so an update stays in the same index, in its place.
    this.#objects.set(key, object);
    const namespace = object.metadata.namespace ?? '';
    let index = this.#byNamespace.get(namespace);
    if (!index) {
      index = new Map();
      this.#byNamespace.set(namespace, index);
    }
    index.set(key, object);
  }

  delete(key: string): void {
    const known = this.#objects.get(key);
    if (!known) return;
    this.#objects.delete(key);
    this.#unindex(key, known);
  }

  #unindex(key: string, object: KubeObject): void {
    const namespace = object.metadata.namespace ?? '';
    const index = this.#byNamespace.get(namespace);
    index?.delete(key);
    if (index?.size === 0) this.#byNamespace.delete(namespace);
  }
}
