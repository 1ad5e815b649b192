import type { Logger } from 'pino';
import { inSlices } from '../core/time-slice.ts';
import { type ChangeHandler, type KubeObject, objectKey } from '../kube/informer.ts';
import { type ReconcileResult, WorkQueue } from '../kube/workqueue.ts';
import type { CacheName, ControllerDefinition } from './definitions.ts';
import type { Echoes } from './echoes.ts';
import type { ClusterView, Wake } from './watches.ts';

export type Reconcile = (key: string) => Promise<ReconcileResult>;

export interface RouterOptions {
  definitions: readonly ControllerDefinition[];
  /** The reconciler of each controller that runs here, by name; a controller without one is off. */
  reconcilers: Readonly<Record<string, Reconcile | undefined>>;
  view: ClusterView;
  log: Logger;
  concurrency: number;
  /** Every pass through a controller's queue, so passes per object can be read. */
  onReconcile: (controller: string) => void;
  onReconcileError: (controller: string) => void;
  /** Trustline's own writes: their watch events do not wake the controller that made them. */
  echoes?: Echoes;
}

interface Controller {
  definition: ControllerDefinition;
  queue: WorkQueue;
}

/**
 * One queue per controller, and the change handlers that fill them as the controllers' definitions map
 * each change. Queues are paused until `resume()`: a standby keeps the keys it is sent and writes nothing.
 */
export class Router {
  readonly #options: RouterOptions;
  readonly #controllers: Controller[];

  constructor(options: RouterOptions) {
    this.#options = options;
    this.#controllers = options.definitions.flatMap((definition) => {
      const reconcile = options.reconcilers[definition.name];
      return reconcile ? [{ definition, queue: this.#queue(definition, reconcile) }] : [];
    });
  }

  get queues(): WorkQueue[] {
    return this.#controllers.map(({ queue }) => queue);
  }

  /** The change handler of one cache: what every controller watching it must look at. */
  handler(cache: CacheName): ChangeHandler {
    const watching = this.#controllers.flatMap(({ definition, queue }) => {
      const mapping = definition.watches[cache];
      return mapping ? [{ name: definition.name, mapping, queue }] : [];
    });
    const { echoes, view } = this.#options;
    return (change, object) => {
      for (const { name, mapping, queue } of watching)
        for (const wake of mapping(change, object, view)) {
          if (echoes && 'key' in wake)
            echoes.route(name, cache, change, object, wake.key, () => this.#wake(queue, wake));
          else this.#wake(queue, wake);
        }
    };
  }

  /** What a change to `object` asks of the named controllers, queued at once rather than batched. */
  wakeNow(cache: CacheName, object: KubeObject, controllers: readonly string[]): void {
    for (const { definition, queue } of this.#controllers) {
      if (!controllers.includes(definition.name)) continue;
      for (const wake of definition.watches[cache]?.('updated', object, this.#options.view) ?? [])
        this.#wake(queue, { ...wake, delayMs: 0 });
    }
  }

  /** Queues every object each controller reconciles, as the caches hold them now. */
  enqueueAll(caches: Partial<Record<CacheName, { list(): KubeObject[] }>>): void {
    for (const { definition, queue } of this.#controllers)
      for (const object of caches[definition.reconciles]?.list() ?? []) queue.add(objectKey(object));
  }

  resume(): void {
    for (const { queue } of this.#controllers) queue.resume();
  }

  #queue(definition: ControllerDefinition, reconcile: Reconcile): WorkQueue {
    const { log, concurrency, onReconcile, onReconcileError, echoes } = this.#options;
    const { workers, rate, reservedForNewFlows } = definition.queue(concurrency);
    return new WorkQueue({
      name: definition.name,
      log,
      concurrency: workers,
      rate,
      reservedForNewFlows,
      paused: true,
      reconcile: async (key) => {
        onReconcile(definition.name);
        echoes?.started(definition.name, key);
        try {
          return await reconcile(key);
        } catch (error) {
          onReconcileError(definition.name);
          throw error;
        } finally {
          echoes?.finished(definition.name, key);
        }
      },
    });
  }

  #wake(queue: WorkQueue, wake: Wake): void {
    if ('key' in wake) {
      queue.addAfter(wake.key, wake.delayMs ?? 0);
      return;
    }
    // A scan may cover every entry of the cluster, and a handler cannot wait: it goes on in slices.
    const { scan, matches = () => true, delayMs = 0 } = wake;
    const run = async () => {
      for await (const object of inSlices(scan))
        if (matches(object)) queue.addAfter(objectKey(object), delayMs);
    };
    run().catch((error: unknown) =>
      this.#options.log.error({ err: error }, 'could not queue RegistrationEntries'),
    );
  }
}
