import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { allKinds } from './api/kinds.ts';
import { notImplementedReconciler } from './controllers/not-implemented.ts';
import { Informer, objectKey } from './kube/informer.ts';
import { trustlineResource } from './kube/resources.ts';
import { RestClient } from './kube/rest.ts';
import { WorkQueue } from './kube/workqueue.ts';

export interface OperatorOptions {
  config: KubeConfig;
  log: Logger;
  now?: () => Date;
  concurrency?: number;
}

/** Trustline's controllers with their caches and queues: started together, stopped together. */
export class Operator {
  readonly #client: RestClient;
  readonly #informers: Informer[];
  readonly #queues: WorkQueue[];
  readonly #log: Logger;

  private constructor(client: RestClient, informers: Informer[], queues: WorkQueue[], log: Logger) {
    this.#client = client;
    this.#informers = informers;
    this.#queues = queues;
    this.#log = log;
  }

  static async start({
    config,
    log,
    now = () => new Date(),
    concurrency = 8,
  }: OperatorOptions): Promise<Operator> {
    const client = await RestClient.fromKubeConfig(config);
    const informers: Informer[] = [];
    const queues: WorkQueue[] = [];
    for (const definition of allKinds) {
      let queue: WorkQueue | undefined;
      const informer = new Informer(client, {
        resource: trustlineResource(definition),
        log,
        onChange: (change, object) => {
          log.debug({ kind: definition.kind, key: objectKey(object), change }, 'observed change');
          if (change !== 'deleted') queue?.add(objectKey(object));
        },
      });
      queue = new WorkQueue({
        name: definition.kind,
        log,
        concurrency,
        rate: { perSecond: 50, burst: 200 },
        reconcile: notImplementedReconciler(definition, informer, client, now),
      });
      informers.push(informer);
      queues.push(queue);
    }
    log.info({ server: client.server }, 'starting caches');
    await Promise.all(informers.map((informer) => informer.start()));
    log.info({ kinds: allKinds.map((kind) => kind.kind) }, 'caches synced; reconciling');
    return new Operator(client, informers, queues, log);
  }

  /** Stops watching, lets reconciles in flight finish, and closes connections. */
  async stop(): Promise<void> {
    await Promise.all(this.#informers.map((informer) => informer.stop()));
    await Promise.all(this.#queues.map((queue) => queue.shutdown()));
    await this.#client.close();
    this.#log.info('stopped');
  }
}
