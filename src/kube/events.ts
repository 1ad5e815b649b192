import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { ObjectMeta } from '../api/meta.ts';
import { RoutineEventGate } from '../core/event-gate.ts';
import { collectionPath, coreResources } from './resources.ts';
import type { RestClient } from './rest.ts';

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
}

/** How often one object's routine event (an SVID renewed) is written; the ones between are counted. */
export const ROUTINE_EVENT_WINDOW_MS = 10 * 60_000;

/**
 * Records core/v1 Events. Events of cluster-scoped objects go to `default`, where kubectl describe looks
 * for them. An event that cannot be written is logged, never fatal: events are a courtesy, not state.
 */
export class EventRecorder {
  readonly #client: RestClient;
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #routine = new RoutineEventGate(ROUTINE_EVENT_WINDOW_MS);

  constructor(client: RestClient, log: Logger, now: () => Date) {
    this.#client = client;
    this.#log = log;
    this.#now = now;
  }

  /**
   * A Normal event that recurs as a matter of course: written at most once per object and reason per
   * ROUTINE_EVENT_WINDOW_MS, saying how many it stands for. Warnings and first-time events go through
   * record(), at once.
   */
  async recordRoutine(object: InvolvedObject, reason: string, message: string): Promise<void> {
    const key = `${object.metadata.uid ?? `${object.metadata.namespace}/${object.metadata.name}`}/${reason}`;
    const decision = this.#routine.admit(key, this.#now());
    if (!decision.emit) return;
    const held = decision.count - 1;
    await this.record(
      object,
      'Normal',
      reason,
      held > 0 ? `${message} (and ${held} more since ${decision.heldSince?.toISOString()})` : message,
      decision.count,
    );
  }

  async record(
    object: InvolvedObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    count = 1,
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
          count,
        },
      });
    } catch (error) {
      this.#log.warn({ err: error, reason }, 'could not record an event');
    }
  }
}
