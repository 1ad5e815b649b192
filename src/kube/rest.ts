import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { Agent, type Dispatcher, fetch } from 'undici';
import { z } from 'zod';
import { retryAfterMs } from '../core/retry-after.ts';
import { TokenBucket } from '../core/token-bucket.ts';
import {
  isSafeToRetry,
  isTransientStatus,
  type TransientFailure,
  transientBackoffMs,
} from '../core/transient-retry.ts';
import { type ApiRequest, codeClass, describeRequest } from './api-request.ts';
import { type ClusterCredentials, kubeConfigCredentials } from './credentials.ts';
import { KubeApiError } from './errors.ts';

type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

const statusSchema = z.looseObject({
  reason: z.string().optional(),
  message: z.string().optional(),
  details: z
    .looseObject({ causes: z.array(z.looseObject({ field: z.string().optional() })).optional() })
    .optional(),
});

/** client-go's count: a request refused as Too Many Requests is sent at most this many times more. */
const MAX_THROTTLED_RETRIES = 10;

/** How long one request (not a watch) may take, headers and body, before it fails: never five minutes. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** How many times a request that failed transiently (reset, 5xx, timed-out read) is sent again. */
export const DEFAULT_TRANSIENT_RETRIES = 3;

export interface RestClientOptions {
  /** Requests per second this client sends at most, with a burst; unlimited when unset. */
  rateLimit?: { qps: number; burst: number };
  /** Called once per request sent (a request sent again after a 429 counts again), for metrics. */
  onRequest?: (request: ApiRequest) => void;
  /** The bound on each request but watches; DEFAULT_REQUEST_TIMEOUT_MS when unset. */
  requestTimeoutMs?: number;
  /** Sends again, with backoff, a request failed transiently where that is safe; DEFAULT_TRANSIENT_RETRIES when unset. */
  transientRetries?: number;
  /** Connections the pool of requests (not watches) opens at most to the apiserver; unlimited when unset. */
  connections?: number;
}

/** Socket errors raised before a connection was made: the request never reached the apiserver. */
const UNSENT_CODES = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
/** Socket errors of a connection that broke while a request was under way. */
const BROKEN_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

/** The code of the first error in the cause chain that carries one (fetch wraps the socket's). */
function errorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth += 1) {
    if ('code' in current && typeof current.code === 'string') return current.code;
    current = current.cause;
  }
  return undefined;
}

/** How a request failed, when the failure may pass; undefined for an answer that will not change. */
function transientFailure(error: unknown): TransientFailure | undefined {
  if (error instanceof RequestTimeoutError) return { kind: 'timeout' };
  if (error instanceof KubeApiError) {
    if (!isTransientStatus(error.status)) return undefined;
    const asked = error.retryAfter === undefined ? undefined : retryAfterMs(error.retryAfter, new Date());
    return { kind: 'status', status: error.status, retryAfterMs: asked };
  }
  const code = errorCode(error);
  if (code === undefined) return undefined;
  if (UNSENT_CODES.has(code)) return { kind: 'unsent' };
  return BROKEN_CODES.has(code) ? { kind: 'broken' } : undefined;
}

/** A request that had no complete answer within the client's bound. */
export class RequestTimeoutError extends Error {
  constructor(method: string, path: string, timeoutMs: number, cause: unknown) {
    super(`${method} ${path}: no answer from the apiserver within ${timeoutMs / 1000} s`, { cause });
    this.name = 'RequestTimeoutError';
  }
}

/**
 * A thin REST client over two connection pools, one for requests and one for watches, so however many
 * watches are open (each holds an HTTP/2 stream or an HTTP/1.1 connection for minutes) a request never
 * queues behind them. ClusterCredentials supply the server and sign-in (refreshed per request, so
 * rotated ServiceAccount tokens are picked up); connections are reused rather than opened
 * per request. Each client has pools of its own, so requests of one (the leader Lease) never queue
 * behind another's. A client may limit its own request rate; it sends again, after the delay the
 * apiserver asks for, a request refused with 429 Too Many Requests, and, with backoff, one that failed
 * transiently where sending it twice is safe.
 */
export class RestClient {
  readonly server: string;
  readonly #credentials: ClusterCredentials;
  readonly #dispatcher: Dispatcher;
  readonly #watchDispatcher: Dispatcher;
  #destroyed = false;
  readonly #bucket: TokenBucket | undefined;
  readonly #onRequest: ((request: ApiRequest) => void) | undefined;
  readonly #timeoutMs: number;
  readonly #transientRetries: number;

  private constructor(
    credentials: ClusterCredentials,
    dispatchers: { requests: Dispatcher; watches: Dispatcher },
    options: RestClientOptions,
  ) {
    this.#credentials = credentials;
    this.server = credentials.server;
    this.#dispatcher = dispatchers.requests;
    this.#watchDispatcher = dispatchers.watches;
    const rate = options.rateLimit;
    this.#bucket = rate && new TokenBucket({ perSecond: rate.qps, burst: rate.burst }, Date.now());
    this.#onRequest = options.onRequest;
    this.#timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#transientRetries = options.transientRetries ?? DEFAULT_TRANSIENT_RETRIES;
  }

  /** Connects with the credentials given; requests and watches get pools of their own. */
  static connect(credentials: ClusterCredentials, clientOptions: RestClientOptions = {}): RestClient {
    const connect = { ...credentials.tls, keepAlive: true, keepAliveInitialDelay: 30_000 };
    const dispatchers = {
      requests: new Agent({ connect, connections: clientOptions.connections }),
      // undici's 300 s bound between chunks stays: the informer's silence bound (at most 90 s) comes first.
      watches: new Agent({ connect }),
    };
    return new RestClient(credentials, dispatchers, clientOptions);
  }

  /** Connects with a loaded @kubernetes/client-node KubeConfig. */
  static async fromKubeConfig(
    config: KubeConfig,
    clientOptions: RestClientOptions = {},
  ): Promise<RestClient> {
    return RestClient.connect(await kubeConfigCredentials(config), clientOptions);
  }

  async #headers(contentType?: string): Promise<Record<string, string>> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...(await this.#credentials.headers()),
    };
    if (contentType) headers['content-type'] = contentType;
    return headers;
  }

  #url(path: string, query: Query = {}): string {
    const url = new URL(this.server + path);
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  /** Waits for this client's turn under its rate limit. */
  async #turn(signal: AbortSignal | undefined): Promise<void> {
    const wait = this.#bucket?.reserve(Date.now()) ?? 0;
    if (wait > 0) await sleep(wait, undefined, { signal });
  }

  /**
   * Sends a request, again after each 429, and returns the answer with the signal that bounds it
   * (none for a watch), which still runs while the caller reads the body.
   */
  async #send(method: string, path: string, options: RequestOptions, watch: boolean) {
    const counted = describeRequest(method, path, options.query);
    let response: Response;
    let timeout: AbortSignal | undefined;
    for (let attempt = 0; ; attempt += 1) {
      await this.#turn(options.signal);
      // Started after the rate limit's wait: a request queued behind others has not timed out.
      timeout = watch ? undefined : AbortSignal.timeout(this.#timeoutMs);
      const signals = [options.signal, timeout].filter((signal) => signal !== undefined);
      try {
        response = await fetch(this.#url(path, options.query), {
          method,
          headers: await this.#headers(
            options.body === undefined ? undefined : (options.contentType ?? 'application/json'),
          ),
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
          dispatcher: watch ? this.#watchDispatcher : this.#dispatcher,
          signal: signals.length > 0 ? AbortSignal.any(signals) : undefined,
        });
      } catch (error) {
        this.#onRequest?.({ ...counted, code: codeClass(undefined) });
        throw this.#timedOut(timeout, method, path, error);
      }
      this.#onRequest?.({ ...counted, code: codeClass(response.status) });
      // The apiserver refuses a 429 before doing anything, so even a create is safe to send again.
      if (response.status !== 429 || attempt >= MAX_THROTTLED_RETRIES) break;
      await response.body?.cancel();
      await sleep(retryAfterMs(response.headers.get('retry-after'), new Date()), undefined, {
        signal: options.signal,
      });
    }
    if (!response.ok) {
      const text = await this.#read(response.text(), timeout, method, path);
      let parsed: z.infer<typeof statusSchema> = {};
      try {
        parsed = statusSchema.parse(JSON.parse(text));
      } catch {}
      throw new KubeApiError(
        response.status,
        parsed.reason ?? String(response.status),
        `${method} ${path}: ${parsed.message ?? (text || response.statusText)}`,
        parsed.details?.causes?.flatMap((cause) => cause.field ?? []),
        response.headers.get('retry-after') ?? undefined,
      );
    }
    return { response, timeout };
  }

  /** The error to throw: a RequestTimeoutError when this client's bound, not the caller, ended it. */
  #timedOut(timeout: AbortSignal | undefined, method: string, path: string, error: unknown): unknown {
    return timeout?.aborted ? new RequestTimeoutError(method, path, this.#timeoutMs, error) : error;
  }

  async #read<T>(body: Promise<T>, timeout: AbortSignal | undefined, method: string, path: string) {
    try {
      return await body;
    } catch (error) {
      throw this.#timedOut(timeout, method, path, error);
    }
  }

  /**
   * Sends a request and returns the decoded JSON body, unvalidated: callers check it with a schema.
   * A transient failure is retried, with backoff, when isSafeToRetry allows it for the request.
   */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<unknown> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const { response, timeout } = await this.#send(method, path, options, false);
        return response.status === 204 ? undefined : await this.#read(response.json(), timeout, method, path);
      } catch (error) {
        const failure = transientFailure(error);
        const retry =
          failure !== undefined &&
          attempt < this.#transientRetries &&
          !options.signal?.aborted &&
          isSafeToRetry(method, options.contentType, failure);
        if (!retry) throw error;
        await sleep(transientBackoffMs(attempt, Math.random(), failure), undefined, {
          signal: options.signal,
        });
      }
    }
  }

  /** Opens a streaming request (a watch) and yields its body line by line. */
  async *lines(path: string, query: Query, signal: AbortSignal): AsyncGenerator<string> {
    const { response } = await this.#send('GET', path, { query, signal }, true);
    if (!response.body) return;
    const decoder = new TextDecoder();
    let pending = '';
    for await (const chunk of response.body) {
      pending += decoder.decode(chunk, { stream: true });
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.trim()) yield line;
        newline = pending.indexOf('\n');
      }
    }
  }

  async close(): Promise<void> {
    if (!this.#destroyed) await Promise.all([this.#dispatcher.close(), this.#watchDispatcher.close()]);
  }

  /** Aborts every request and watch under way and refuses new ones. */
  async destroy(): Promise<void> {
    this.#destroyed = true;
    await Promise.all([this.#dispatcher.destroy(), this.#watchDispatcher.destroy()]);
  }
}
