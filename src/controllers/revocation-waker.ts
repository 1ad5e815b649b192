import type { Logger } from 'pino';
import { inProgress } from '../core/revocation/progress.ts';
import type { Informer, KubeObject } from '../kube/informer.ts';
import { trustDomainNameOf } from './references.ts';
import { svidsBySigner } from './svid-inventory.ts';
import { type ClusterView, revocationWaitingOn } from './watches.ts';

export interface RevocationWakerOptions {
  view: ClusterView;
  /** The SVID Secrets as revocations count them: confirmed writes where the caches trail. */
  svidSecrets: (namespace: string) => Pick<Informer, 'get'> | undefined;
  /** Wakes, at once, the controllers that finish a revocation over this Secret's trust domain. */
  wake: (secret: KubeObject) => void;
  log: Logger;
}

/**
 * Wakes a TrustDomain and its KeyRevocations as soon as the write of the last SVID a revocation waits
 * for is confirmed, rather than at the next batch of Secret events. Counting at every write would pass
 * over every entry per write: the SVIDs left are counted once, each confirmed write of the trust
 * domain's Secrets takes one off, and they are counted again only when none should be left. An
 * estimate that is off costs a count or leaves the wake-up to the batch, never a decision: the
 * TrustDomain decides from its own count.
 */
export class RevocationWaker {
  readonly #options: RevocationWakerOptions;
  /** By trust domain and tainted keys: how many SVIDs they still signed at the last count, less writes since. */
  readonly #left = new Map<string, number>();
  #turn: Promise<void> = Promise.resolve();

  constructor(options: RevocationWakerOptions) {
    this.#options = options;
  }

  /** Told each SVID Secret write the apiserver confirmed. */
  written(secret: KubeObject): void {
    const reference = revocationWaitingOn(secret, this.#options.view);
    if (reference === undefined) return;
    this.#turn = this.#turn
      .then(() => this.#step(reference, secret))
      .catch((error: unknown) =>
        this.#options.log.warn(
          { err: error, trustDomain: reference },
          'could not count SVIDs left to re-issue',
        ),
      );
  }

  async #step(reference: string, secret: KubeObject): Promise<void> {
    const tainted = this.#taintedIds(reference);
    if (tainted.length === 0) return;
    const id = `${reference}\n${tainted.join(',')}`;
    const estimate = this.#left.get(id);
    if (estimate !== undefined && estimate > 1) {
      this.#left.set(id, estimate - 1);
      return;
    }
    const { reissuable } = await svidsBySigner(
      this.#options.view.registrationEntries,
      this.#options.svidSecrets,
      reference,
    );
    const left = tainted.reduce((sum, taintedId) => sum + (reissuable.get(taintedId) ?? 0), 0);
    if (left > 0) {
      this.#left.set(id, left);
      return;
    }
    this.#left.delete(id);
    this.#options.wake(secret);
  }

  #taintedIds(reference: string): string[] {
    const { trustDomains, journals } = this.#options.view;
    const object = trustDomains.get(reference);
    const name = object && trustDomainNameOf(object);
    const journal = name ? journals.get(name) : undefined;
    if (journal === undefined || journal instanceof Error) return [];
    return [...new Set(inProgress(journal).flatMap((record) => record.taintedIds))].sort();
  }
}
