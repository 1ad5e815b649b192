import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ReviewedUser } from '../../src/kube/reviews.ts';
import {
  type AccessAttributes,
  MAX_REVIEWS_IN_FLIGHT,
  MetricsAccess,
  REVIEW_TTL_MS,
} from '../../src/observability/metrics-auth.ts';

const METRICS: AccessAttributes = { path: '/metrics', verb: 'get' };
const scraper: ReviewedUser = {
  username: 'system:serviceaccount:monitoring:prometheus',
  uid: 'uid-1',
  groups: ['system:serviceaccounts'],
};

/** Reviews answered from a table, counted, and a clock the test moves. */
function setup({ users = { 'good-token': scraper }, allowed = new Set([scraper.username]) } = {}) {
  let ms = 0;
  const calls = { tokenReviews: [] as string[], accessReviews: [] as string[] };
  const access = new MetricsAccess({
    authenticate: async (token) => {
      calls.tokenReviews.push(token);
      return users[token as keyof typeof users];
    },
    authorize: async (user, attributes) => {
      calls.accessReviews.push(`${user.username} ${attributes.verb} ${attributes.path}`);
      return { allowed: allowed.has(user.username), reason: 'RBAC' };
    },
    now: () => new Date(ms),
    log: pino({ level: 'silent' }),
  });
  return { access, calls, allowed, advance: (by: number) => (ms += by) };
}

describe('MetricsAccess', () => {
  it('refuses a request without a bearer token with 401, asking the apiserver nothing', async () => {
    const { access, calls } = setup();
    for (const header of [undefined, '', 'Basic dXNlcjpwYXNz', 'Bearer ', 'Bearer a b'])
      expect(await access.check(header, METRICS)).toEqual({
        status: 401,
        message: 'a bearer token is required',
      });
    expect(calls.tokenReviews).toEqual([]);
  });

  it('refuses a token that authenticates no one with 401, and never asks about its access', async () => {
    const { access, calls } = setup();
    expect(await access.check('Bearer forged', METRICS)).toEqual({
      status: 401,
      message: 'the bearer token authenticates no one',
    });
    expect(calls.tokenReviews).toEqual(['forged']);
    expect(calls.accessReviews).toEqual([]);
  });

  it('refuses an authenticated user that RBAC does not allow with 403 naming the user', async () => {
    const { access, calls } = setup({ allowed: new Set() });
    expect(await access.check('Bearer good-token', METRICS)).toEqual({
      status: 403,
      message: 'system:serviceaccount:monitoring:prometheus may not get /metrics',
    });
    expect(calls.accessReviews).toEqual(['system:serviceaccount:monitoring:prometheus get /metrics']);
  });

  it('serves an allowed user, reading the scheme case-insensitively', async () => {
    const { access } = setup();
    expect(await access.check('Bearer good-token', METRICS)).toEqual({ status: 200 });
    expect(await access.check('bearer good-token', METRICS)).toEqual({ status: 200 });
  });

  it('remembers an allowed scrape for the allowed TTL, then asks again', async () => {
    const { access, calls, advance } = setup();
    await access.check('Bearer good-token', METRICS);
    advance(REVIEW_TTL_MS.allowed - 1);
    await access.check('Bearer good-token', METRICS);
    expect(calls.tokenReviews).toHaveLength(1);
    expect(calls.accessReviews).toHaveLength(1);
    advance(1);
    await access.check('Bearer good-token', METRICS);
    expect(calls.tokenReviews).toHaveLength(2);
    expect(calls.accessReviews).toHaveLength(2);
  });

  it('remembers a refusal for the shorter refused TTL, so a new role binding takes effect soon', async () => {
    const { access, allowed, advance } = setup({ allowed: new Set() });
    expect((await access.check('Bearer good-token', METRICS)).status).toBe(403);
    allowed.add(scraper.username);
    advance(REVIEW_TTL_MS.refused - 1);
    expect((await access.check('Bearer good-token', METRICS)).status).toBe(403);
    advance(1);
    expect((await access.check('Bearer good-token', METRICS)).status).toBe(200);
  });

  it('answers 500 when a review fails, and remembers nothing of it', async () => {
    let failing = true;
    const access = new MetricsAccess({
      authenticate: async () => {
        if (failing) throw new Error('connection refused');
        return scraper;
      },
      authorize: async () => ({ allowed: true }),
      now: () => new Date(0),
      log: pino({ level: 'silent' }),
    });
    expect(await access.check('Bearer good-token', METRICS)).toEqual({
      status: 500,
      message: 'the TokenReview failed',
    });
    failing = false;
    expect(await access.check('Bearer good-token', METRICS)).toEqual({ status: 200 });
  });

  it('refuses with 429 beyond the reviews it lets wait on the apiserver at once', async () => {
    const pending: (() => void)[] = [];
    let holding = true;
    const access = new MetricsAccess({
      authenticate: (token) =>
        holding
          ? new Promise((resolve) => pending.push(() => resolve(undefined)))
          : Promise.resolve(token === 'good-token' ? scraper : undefined),
      authorize: async () => ({ allowed: true }),
      now: () => new Date(0),
      log: pino({ level: 'silent' }),
    });
    const waiting = Array.from({ length: MAX_REVIEWS_IN_FLIGHT }, (_, index) =>
      access.check(`Bearer forged-${index}`, METRICS),
    );
    expect((await access.check('Bearer one-more', METRICS)).status).toBe(429);
    holding = false;
    for (const resolve of pending) resolve();
    expect((await Promise.all(waiting)).map((decision) => decision.status)).toEqual(
      Array(MAX_REVIEWS_IN_FLIGHT).fill(401),
    );
    expect((await access.check('Bearer good-token', METRICS)).status).toBe(200);
  });
});
