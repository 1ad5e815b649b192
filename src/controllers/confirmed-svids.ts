import { type ChangeHandler, type Informer, type KubeObject, objectKey } from '../kube/informer.ts';
import { slimSvidSecret, withoutManagedFields } from './cache-transforms.ts';

type SecretCaches = (namespace: string) => Pick<Informer, 'get'> | undefined;

interface Confirmed {
  /** The Secret as the apiserver returned it from Trustline's last write. */
  latest: KubeObject;
  /** Versions Trustline wrote before it whose watch events may still come: not a tenant's edit. */
  earlier: Set<string>;
}

/**
 * SVID Secrets as a revocation must count them: what the apiserver confirmed of Trustline's own writes,
 * where the cache has not caught up yet, else what the cache shows. The cache trails the apiserver by
 * seconds under load; counting from it kept a revocation waiting for SVIDs already re-issued.
 *
 * Only the cache's events retire a confirmed write: the echo of the last write (the cache has caught
 * up), or a version Trustline did not write (a tenant's edit, which the count must see). Nothing is
 * kept but the writes still in flight, and a replica that has written nothing (just started, or just
 * elected) counts from its cache alone.
 */
export class ConfirmedSvids {
  readonly #caches: SecretCaches;
  readonly #confirmed = new Map<string, Confirmed>();
  readonly #onConfirmed: ((written: KubeObject) => void) | undefined;

  constructor(caches: SecretCaches, onConfirmed?: (written: KubeObject) => void) {
    this.#caches = caches;
    this.#onConfirmed = onConfirmed;
  }

  /** A write of an SVID Secret the apiserver confirmed. */
  confirm(written: KubeObject): void {
    const key = objectKey(written);
    const version = written.metadata.resourceVersion ?? '';
    const cached = this.#caches(written.metadata.namespace ?? '')?.get(key);
    // Its watch event came before the response did when the cache shows it already.
    if (cached?.metadata.resourceVersion !== version) {
      const known = this.#confirmed.get(key);
      const earlier = new Set(known ? [...known.earlier, known.latest.metadata.resourceVersion ?? ''] : []);
      // Kept as the cache would keep it, so counting reads one shape and holds no more than the cache.
      this.#confirmed.set(key, { latest: slimSvidSecret(withoutManagedFields(written)), earlier });
    }
    this.#onConfirmed?.(written);
  }

  /** Subscribed to the SVID Secret caches: each change they see. */
  readonly observe: ChangeHandler = (change, object) => {
    const key = objectKey(object);
    const known = this.#confirmed.get(key);
    if (!known) return;
    const version = object.metadata.resourceVersion ?? '';
    const echoOfEarlier = change !== 'deleted' && known.earlier.has(version);
    if (echoOfEarlier) known.earlier.delete(version);
    else this.#confirmed.delete(key);
  };

  /** The SVID Secret caches as a count reads them: a confirmed write where the cache trails it. */
  readonly caches = (namespace: string): Pick<Informer, 'get'> | undefined => {
    const cache = this.#caches(namespace);
    return cache && { get: (key) => this.#confirmed.get(key)?.latest ?? cache.get(key) };
  };
}
