import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { z } from 'zod';
import { inSlices, timeSlicer } from '../core/time-slice.ts';
import { isGone, KubeApiError } from './errors.ts';
import { ObjectStore } from './object-store.ts';
import { type KubeObject, kubeObjectSchema, objectKey } from './objects.ts';
import { collectionPath, type ResourceType } from './resources.ts';
import type { RestClient } from './rest.ts';

const listSchema = z.object({
  metadata: z.looseObject({ resourceVersion: z.string(), continue: z.string().optional() }),
  items: z.array(kubeObjectSchema),
});
const watchEventSchema = z.object({
  type: z.enum(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']),
  object: z.looseObject({}),
});
const watchErrorSchema = z.looseObject({ code: z.int().optional(), message: z.string().optional() });
/** A bookmark's object is a bare shell of its kind: only metadata.resourceVersion is set. */
const bookmarkSchema = z.looseObject({ metadata: z.looseObject({ resourceVersion: z.string() }) });

// Callers read the object type and key where they read caches.
export { type KubeObject, kubeObjectSchema, objectKey } from './objects.ts';

export type ChangeType = 'added' | 'updated' | 'deleted';
export type ChangeHandler = (change: ChangeType, object: KubeObject) => void;

const CHANGES = { ADDED: 'added', MODIFIED: 'updated', DELETED: 'deleted' } as const;

/** What one line of a watch means for the cache. */
export type WatchEvent =
  | { type: 'change'; change: ChangeType; object: KubeObject }
  /** Nothing changed; a watch may resume from here. */
  | { type: 'bookmark'; resourceVersion: string }
  /** An object the cache cannot key: skipped. */
  | { type: 'invalid' };

/** Parses one line of a watch; an ERROR event (410 Gone, most often) is thrown as a KubeApiError. */
export function parseWatchEvent(line: string): WatchEvent {
  const event = watchEventSchema.parse(JSON.parse(line));
  if (event.type === 'ERROR') {
    const status = watchErrorSchema.parse(event.object);
    throw new KubeApiError(status.code ?? 500, 'WatchError', status.message ?? 'watch error');
  }
  if (event.type === 'BOOKMARK') {
    const bookmark = bookmarkSchema.safeParse(event.object);
    return bookmark.success
      ? { type: 'bookmark', resourceVersion: bookmark.data.metadata.resourceVersion }
      : { type: 'invalid' };
  }
  const object = kubeObjectSchema.safeParse(event.object);
  return object.success
    ? { type: 'change', change: CHANGES[event.type], object: object.data }
    : { type: 'invalid' };
}

export interface InformerOptions {
  resource: ResourceType;
  /** Watches one namespace of a namespaced resource; all namespaces when unset. */
  namespace?: string;
  labelSelector?: string;
  /** A first change handler; more may subscribe before the informer starts. */
  onChange?: ChangeHandler;
  /** Keeps only what the controllers read of each object: a cache of every pod need not hold whole pods. */
  transform?: (object: KubeObject) => KubeObject;
  log: Logger;
  /**
   * How long the apiserver keeps one watch open. The server ends the watch cleanly and it is resumed
   * from the last resourceVersion at once, so a quiet watch never stalls an event. Randomised
   * (like client-go) so many watches do not reconnect together.
   */
  watchTimeoutSeconds?: () => number;
  /** How long a watch may go without an event or bookmark before it is ended and resumed; watchSilenceMs when unset. */
  silenceMs?: number;
  backoff?: { initialMs: number; maxMs: number };
}

const PAGE_SIZE = 500;
/** Slack beyond the next bookmark or the server-side timeout before a silent watch is treated as dead. */
const INACTIVITY_SLACK_MS = 30_000;
/**
 * The apiserver's watch cache sends a watch that allows bookmarks one roughly every minute
 * (defaultBookmarkFrequency in k8s.io/apiserver's cacher), so a watch silent much longer has stalled.
 */
const BOOKMARK_INTERVAL_MS = 60_000;

/** How long a watch of `timeoutSeconds` may be silent: past its next bookmark or its end, and a margin. */
export const watchSilenceMs = (timeoutSeconds: number): number =>
  Math.min(timeoutSeconds * 1000, BOOKMARK_INTERVAL_MS) + INACTIVITY_SLACK_MS;

/** A list/watch cache of one resource, kept current by a watch that resumes and relists on 410 Gone. */
export class Informer {
  readonly #client: RestClient;
  readonly #options: InformerOptions;
  readonly #store = new ObjectStore();
  readonly #stop = new AbortController();
  #resourceVersion = '';
  #synced = false;
  #loop: Promise<void> | undefined;
  readonly #handlers: ChangeHandler[] = [];

  constructor(client: RestClient, options: InformerOptions) {
    this.#client = client;
    this.#options = options;
    if (options.onChange) this.#handlers.push(options.onChange);
  }

  /** Adds a change handler: a cache is made first, and what it wakes is wired to it after. */
  subscribe(handler: ChangeHandler): void {
    this.#handlers.push(handler);
  }

  get hasSynced(): boolean {
    return this.#synced;
  }

  /** Where the next watch resumes: the last event's or bookmark's resourceVersion. */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  get(key: string): KubeObject | undefined {
    return this.#store.get(key);
  }

  list(): KubeObject[] {
    return [...this.#store.values()];
  }

  /** The cached objects of one namespace, from an index: no scan of the others. */
  byNamespace(namespace: string): KubeObject[] {
    return this.#store.inNamespace(namespace);
  }

  /** Starts listing and watching; resolves once the first list is in the cache. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#loop = this.#run(resolve).catch(reject);
    });
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  async #run(onSynced: () => void): Promise<void> {
    const { log, backoff = { initialMs: 500, maxMs: 30_000 } } = this.#options;
    const signal = this.#stop.signal;
    let needList = true;
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.#relist();
          needList = false;
          if (!this.#synced) {
            this.#synced = true;
            onSynced();
          }
        }
        await this.#watch();
        failures = 0;
      } catch (error) {
        if (signal.aborted) break;
        if (isGone(error)) {
          log.info({ resource: this.#options.resource.plural }, 'watch expired (410 Gone); relisting');
          needList = true;
          continue;
        }
        failures += 1;
        const delay =
          Math.min(backoff.maxMs, backoff.initialMs * 2 ** (failures - 1)) * (0.5 + Math.random() / 2);
        log.warn(
          { resource: this.#options.resource.plural, err: error, retryInMs: Math.round(delay) },
          'watch failed',
        );
        await sleep(delay, undefined, { signal }).catch(() => {});
      }
    }
  }

  async #relist(): Promise<void> {
    const fresh = new Map<string, KubeObject>();
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      const page = listSchema.parse(
        await this.#client.request('GET', collectionPath(this.#options.resource, this.#options.namespace), {
          query: { limit: PAGE_SIZE, continue: continueToken, labelSelector: this.#options.labelSelector },
          signal: this.#stop.signal,
        }),
      );
      for (const item of page.items) fresh.set(objectKey(item), item);
      continueToken = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion;
    } while (continueToken);

    // Thousands of objects each wake a handler: the diff lets the event loop turn between slices.
    // Additions and updates go first, deletions after, so meanwhile no object that exists is missing.
    for await (const [key, object] of inSlices(fresh)) {
      const known = this.#store.get(key);
      if (!known) this.#apply('added', object);
      else if (known.metadata.resourceVersion !== object.metadata.resourceVersion)
        this.#apply('updated', object);
    }
    for await (const [key, object] of inSlices(this.#store.entries())) {
      if (!fresh.has(key)) this.#apply('deleted', object);
    }
    this.#resourceVersion = resourceVersion;
  }

  async #watch(): Promise<void> {
    const timeoutSeconds = this.#options.watchTimeoutSeconds?.() ?? 240 + Math.floor(Math.random() * 60);
    const connection = new AbortController();
    const abort = () => connection.abort();
    this.#stop.signal.addEventListener('abort', abort);
    const silenceMs = this.#options.silenceMs ?? watchSilenceMs(timeoutSeconds);
    let inactivity: NodeJS.Timeout | undefined;
    const armInactivity = () => {
      clearTimeout(inactivity);
      inactivity = setTimeout(abort, silenceMs);
    };
    armInactivity();
    try {
      const lines = this.#client.lines(
        collectionPath(this.#options.resource, this.#options.namespace),
        {
          watch: true,
          resourceVersion: this.#resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds,
          labelSelector: this.#options.labelSelector,
        },
        connection.signal,
      );
      // One read may bring hundreds of events, handled otherwise without a turn of the event loop.
      const checkpoint = timeSlicer();
      for await (const line of lines) {
        armInactivity();
        this.#handle(line);
        await checkpoint();
      }
    } catch (error) {
      if (connection.signal.aborted && !this.#stop.signal.aborted) {
        throw new Error(`watch of ${this.#options.resource.plural} was silent too long`, { cause: error });
      }
      throw error;
    } finally {
      clearTimeout(inactivity);
      this.#stop.signal.removeEventListener('abort', abort);
    }
  }

  #handle(line: string): void {
    const event = parseWatchEvent(line);
    if (event.type === 'invalid') {
      this.#options.log.warn(
        { resource: this.#options.resource.plural },
        'ignored a watch event without metadata',
      );
      return;
    }
    if (event.type === 'bookmark') {
      this.#resourceVersion = event.resourceVersion;
      return;
    }
    this.#apply(event.change, event.object);
    this.#resourceVersion = event.object.metadata.resourceVersion ?? this.#resourceVersion;
  }

  /** Notifies first and updates the cache after, so a failing handler sees the change again on relist. */
  #apply(change: ChangeType, received: KubeObject): void {
    const object = this.#options.transform?.(received) ?? received;
    for (const handler of this.#handlers) handler(change, object);
    if (change === 'deleted') this.#store.delete(objectKey(object));
    else this.#store.set(objectKey(object), object);
  }
}
