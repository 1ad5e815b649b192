import { z } from 'zod';
import type { RestClient } from './rest.ts';

/** Who a bearer token belongs to, as the apiserver's TokenReview answers. */
export interface ReviewedUser {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

const tokenReviewSchema = z.object({
  status: z
    .object({
      authenticated: z.boolean().optional(),
      user: z
        .object({
          username: z.string().default(''),
          uid: z.string().optional(),
          groups: z.array(z.string()).optional(),
          extra: z.record(z.string(), z.array(z.string())).optional(),
        })
        .optional(),
    })
    .default({}),
});

const accessReviewSchema = z.object({
  status: z.object({ allowed: z.boolean().default(false), reason: z.string().optional() }).default({
    allowed: false,
  }),
});

/**
 * Asks the apiserver whom `token` authenticates (authentication.k8s.io/v1 TokenReview, for the
 * apiserver's own audiences); undefined when it authenticates no one.
 */
export async function reviewToken(client: RestClient, token: string): Promise<ReviewedUser | undefined> {
  const answer = tokenReviewSchema.parse(
    await client.request('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
    }),
  );
  const user = answer.status.user;
  return answer.status.authenticated === true && user && user.username !== '' ? user : undefined;
}

/**
 * Asks the apiserver whether `user` may use `verb` on a non-resource URL such as `/metrics`
 * (authorization.k8s.io/v1 SubjectAccessReview), as RBAC's `nonResourceURLs` grant it.
 */
export async function reviewAccess(
  client: RestClient,
  user: ReviewedUser,
  { path, verb }: { path: string; verb: string },
): Promise<{ allowed: boolean; reason?: string }> {
  const answer = accessReviewSchema.parse(
    await client.request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: user.username,
          uid: user.uid,
          groups: user.groups,
          extra: user.extra,
          nonResourceAttributes: { path, verb },
        },
      },
    }),
  );
  return answer.status;
}
