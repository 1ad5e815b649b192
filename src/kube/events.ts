import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { ObjectMeta } from '../api/meta.ts';
import { collectionPath, coreResources } from './resources.ts';
import type { RestClient } from './rest.ts';

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
}

/**
 * Records core/v1 Events. Events of cluster-scoped objects go to `default`, where kubectl describe looks
 * for them. An event that cannot be written is logged, never fatal: events are a courtesy, not state.
 */
export class EventRecorder {
  readonly #client: RestClient;
  readonly #log: Logger;
  readonly #now: () => Date;

  constructor(client: RestClient, log: Logger, now: () => Date) {
    this.#client = client;
    this.#log = log;
    this.#now = now;
  }

  async record(
    object: InvolvedObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    const namespace = object.metadata.namespace ?? 'default';
    const time = this.#now().toISOString();
    try {
      await this.#client.request('POST', collectionPath(coreResources.events, namespace), {
        body: {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: {
            name: `${object.metadata.name.slice(0, 200)}.${randomBytes(8).toString('hex')}`,
            namespace,
          },
          involvedObject: {
            apiVersion: object.apiVersion,
            kind: object.kind,
            name: object.metadata.name,
            namespace: object.metadata.namespace,
            uid: object.metadata.uid,
            resourceVersion: object.metadata.resourceVersion,
          },
          type,
          reason,
          message,
          source: { component: 'trustline' },
          firstTimestamp: time,
          lastTimestamp: time,
          count: 1,
        },
      });
    } catch (error) {
      this.#log.warn({ err: error, reason }, 'could not record an event');
    }
  }
}
