import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { Agent, type Dispatcher, fetch } from 'undici';
import { z } from 'zod';
import { retryAfterMs } from '../core/retry-after.ts';
import { TokenBucket } from '../core/token-bucket.ts';
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

export interface RestClientOptions {
  /** Requests per second this client sends at most, with a burst; unlimited when unset. */
  rateLimit?: { qps: number; burst: number };
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

  async #send(method: string, path: string, options: RequestOptions) {
    let response: Response;
    for (let attempt = 0; ; attempt += 1) {
      await this.#turn(options.signal);
      response = await fetch(this.#url(path, options.query), {
        method,
        headers: await this.#headers(
          options.body === undefined ? undefined : (options.contentType ?? 'application/json'),
        ),
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        dispatcher: this.#dispatcher,
        signal: options.signal,
      });
      // The apiserver refuses a 429 before doing anything, so even a create is safe to send again.
      if (response.status !== 429 || attempt >= MAX_THROTTLED_RETRIES) break;
      await response.body?.cancel();
      await sleep(retryAfterMs(response.headers.get('retry-after'), new Date()), undefined, {
        signal: options.signal,
      });
    }
    if (!response.ok) {
      const text = await response.text();
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
    return response;
  }

  /** Sends a request and returns the decoded JSON body, unvalidated: callers check it with a schema. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<unknown> {
    const response = await this.#send(method, path, options);
    return response.status === 204 ? undefined : response.json();
  }

  /** Opens a streaming request (a watch) and yields its body line by line. */
  async *lines(path: string, query: Query, signal: AbortSignal): AsyncGenerator<string> {
    const response = await this.#send('GET', path, { query, signal });
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
