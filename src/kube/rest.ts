import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { Agent, type Dispatcher, fetch } from 'undici';
import { z } from 'zod';
import { retryAfterMs } from '../core/retry-after.ts';
import { TokenBucket } from '../core/token-bucket.ts';
import { type ApiRequest, codeClass, describeRequest } from './api-request.ts';
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

export interface RestClientOptions {
  /** Requests per second this client sends at most, with a burst; unlimited when unset. */
  rateLimit?: { qps: number; burst: number };
  /** Called once per request sent (a request sent again after a 429 counts again), for metrics. */
  onRequest?: (request: ApiRequest) => void;
  /** The bound on each request but watches; DEFAULT_REQUEST_TIMEOUT_MS when unset. */
  requestTimeoutMs?: number;
}

/** A request that had no complete answer within the client's bound. */
export class RequestTimeoutError extends Error {
  constructor(method: string, path: string, timeoutMs: number, cause: unknown) {
    super(`${method} ${path}: no answer from the apiserver within ${timeoutMs / 1000} s`, { cause });
    this.name = 'RequestTimeoutError';
  }
}

/**
 * A thin REST client over one connection pool. @kubernetes/client-node supplies the configuration and
 * credentials (refreshed per request, so rotated ServiceAccount tokens are picked up); connections are
 * reused rather than opened per request. Each client has a pool of its own, so requests of one (the
 * leader Lease) never queue behind another's. A client may limit its own request rate, and it sends
 * again, after the delay the apiserver asks for, a request refused with 429 Too Many Requests.
 */
export class RestClient {
  readonly server: string;
  readonly #config: KubeConfig;
  readonly #dispatcher: Dispatcher;
  #destroyed = false;
  readonly #bucket: TokenBucket | undefined;
  readonly #onRequest: ((request: ApiRequest) => void) | undefined;
  readonly #timeoutMs: number;

  private constructor(
    config: KubeConfig,
    server: string,
    dispatcher: Dispatcher,
    options: RestClientOptions,
  ) {
    this.#config = config;
    this.server = server;
    this.#dispatcher = dispatcher;
    const rate = options.rateLimit;
    this.#bucket = rate && new TokenBucket({ perSecond: rate.qps, burst: rate.burst }, Date.now());
    this.#onRequest = options.onRequest;
    this.#timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  static async fromKubeConfig(
    config: KubeConfig,
    clientOptions: RestClientOptions = {},
  ): Promise<RestClient> {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    const tls: {
      ca?: Buffer;
      cert?: Buffer;
      key?: Buffer;
      rejectUnauthorized?: boolean;
      servername?: string;
    } = {};
    const options: Record<string, unknown> = {};
    await config.applyToHTTPSOptions(options);
    for (const key of ['ca', 'cert', 'key', 'rejectUnauthorized', 'servername'] as const) {
      if (options[key] !== undefined) Object.assign(tls, { [key]: options[key] });
    }
    const dispatcher = new Agent({ connect: { ...tls, keepAlive: true, keepAliveInitialDelay: 30_000 } });
    return new RestClient(config, cluster.server.replace(/\/$/, ''), dispatcher, clientOptions);
  }

  async #headers(contentType?: string): Promise<Record<string, string>> {
    const options: { headers?: Record<string, unknown> } = {};
    await this.#config.applyToHTTPSOptions(options);
    const headers: Record<string, string> = { accept: 'application/json' };
    for (const [name, value] of Object.entries(options.headers ?? {}))
      headers[name.toLowerCase()] = String(value);
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
          dispatcher: this.#dispatcher,
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

  /** Sends a request and returns the decoded JSON body, unvalidated: callers check it with a schema. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<unknown> {
    const { response, timeout } = await this.#send(method, path, options, false);
    return response.status === 204 ? undefined : this.#read(response.json(), timeout, method, path);
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
    if (!this.#destroyed) await this.#dispatcher.close();
  }

  /** Aborts every request under way and refuses new ones. */
  async destroy(): Promise<void> {
    this.#destroyed = true;
    await this.#dispatcher.destroy();
  }
}
