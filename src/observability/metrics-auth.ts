import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { ExpiringCache } from '../core/expiring-cache.ts';
import type { RestClient } from '../kube/rest.ts';
import { type ReviewedUser, reviewAccess, reviewToken } from '../kube/reviews.ts';

/** What the metrics endpoint answers a request: serve it, or refuse it with a status and a reason. */
export type AccessDecision = { status: 200 } | { status: 401 | 403 | 429 | 500; message: string };

export interface AccessAttributes {
  path: string;
  verb: string;
}

export interface MetricsAccessOptions {
  authenticate: (token: string) => Promise<ReviewedUser | undefined>;
  authorize: (
    user: ReviewedUser,
    attributes: AccessAttributes,
  ) => Promise<{ allowed: boolean; reason?: string }>;
  now: () => Date;
  log: Logger;
}

/**
 * Scrapes come every few seconds from each Prometheus: a success is remembered for half a minute, a
 * refusal for less, so a newly bound role or a removed one takes effect soon. Failed reviews are
 * never remembered.
 */
export const REVIEW_TTL_MS = { allowed: 30_000, refused: 10_000 } as const;
const MAX_CACHED_REVIEWS = 1_024;
/** Reviews waiting on the apiserver at once; more are refused so that a flood of forged tokens cannot queue work there. */
export const MAX_REVIEWS_IN_FLIGHT = 8;

const BEARER = /^Bearer +([^\s]+) *$/i;

/**
 * controller-runtime's secure metrics (WithAuthenticationAndAuthorization): the bearer token is
 * authenticated by a TokenReview, then the user it names is authorised by a SubjectAccessReview for
 * the request's non-resource URL and verb. 401 without a token or with one that authenticates no
 * one, 403 when RBAC does not allow it. Tokens are cached by hash and never logged.
 */
export class MetricsAccess {
  readonly #options: MetricsAccessOptions;
  readonly #users: ExpiringCache<string, ReviewedUser | null>;
  readonly #grants: ExpiringCache<string, { allowed: boolean; reason?: string }>;
  #inFlight = 0;

  constructor(options: MetricsAccessOptions) {
    this.#options = options;
    const cache = { maxEntries: MAX_CACHED_REVIEWS, now: options.now };
    this.#users = new ExpiringCache(cache);
    this.#grants = new ExpiringCache(cache);
  }

  /** Decides on a request from its Authorization header. */
  async check(authorization: string | undefined, attributes: AccessAttributes): Promise<AccessDecision> {
    const token = authorization?.match(BEARER)?.[1];
    if (token === undefined) return { status: 401, message: 'a bearer token is required' };
    const tokenKey = createHash('sha256').update(token).digest('hex');
    let user = this.#users.get(tokenKey);
    if (user === undefined) {
      const reviewed = await this.#review('TokenReview', () => this.#options.authenticate(token));
      if ('status' in reviewed) return reviewed;
      user = reviewed.value ?? null;
      this.#users.set(tokenKey, user, user ? REVIEW_TTL_MS.allowed : REVIEW_TTL_MS.refused);
    }
    if (user === null) return { status: 401, message: 'the bearer token authenticates no one' };

    const grantKey = JSON.stringify([user, attributes.path, attributes.verb]);
    let grant = this.#grants.get(grantKey);
    if (grant === undefined) {
      const authenticated = user;
      const reviewed = await this.#review('SubjectAccessReview', () =>
        this.#options.authorize(authenticated, attributes),
      );
      if ('status' in reviewed) return reviewed;
      grant = reviewed.value;
      this.#grants.set(grantKey, grant, grant.allowed ? REVIEW_TTL_MS.allowed : REVIEW_TTL_MS.refused);
    }
    if (!grant.allowed) {
      this.#options.log.debug(
        { user: user.username, path: attributes.path, reason: grant.reason },
        'refused a metrics request',
      );
      return {
        status: 403,
        message: `${user.username} may not ${attributes.verb} ${attributes.path}`,
      };
    }
    return { status: 200 };
  }

  async #review<T>(kind: string, send: () => Promise<T>): Promise<{ value: T } | AccessDecision> {
    if (this.#inFlight >= MAX_REVIEWS_IN_FLIGHT)
      return { status: 429, message: 'too many metrics requests are being reviewed; retry shortly' };
    this.#inFlight += 1;
    try {
      return { value: await send() };
    } catch (error) {
      this.#options.log.warn({ err: error, review: kind }, 'could not review a metrics request');
      return { status: 500, message: `the ${kind} failed` };
    } finally {
      this.#inFlight -= 1;
    }
  }
}

/** Metrics access checked against the apiserver `client` talks to. */
export const metricsAccessThrough = (client: RestClient, now: () => Date, log: Logger): MetricsAccess =>
  new MetricsAccess({
    authenticate: (token) => reviewToken(client, token),
    authorize: (user, attributes) => reviewAccess(client, user, attributes),
    now,
    log,
  });
