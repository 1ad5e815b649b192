import { describe, expect, it } from 'vitest';
import { type PodRecord, podBindingProblem, type RequestClaims } from '../../src/core/podcert/pod-binding.ts';

const request: RequestClaims = {
  podName: 'web-0',
  podUID: 'pod-uid',
  nodeName: 'node-a',
  serviceAccountName: 'web',
  serviceAccountUID: 'sa-uid',
};
const pod: PodRecord = {
  namespace: 'shop',
  uid: 'pod-uid',
  nodeName: 'node-a',
  serviceAccountName: 'web',
  deletionTimestamp: undefined,
  serviceAccountUID: 'sa-uid',
};

describe('podBindingProblem', () => {
  it('accepts a request that matches its pod in every part', () => {
    expect(podBindingProblem(request, pod)).toBeUndefined();
  });

  it.each([
    [{ podUID: 'other-uid' }, 'the request names pod UID other-uid, but pod shop/web-0 has pod-uid'],
    [{ nodeName: 'node-b' }, 'the request names node node-b, but pod shop/web-0 has node-a'],
    [{ serviceAccountName: 'admin' }, 'the request names ServiceAccount admin, but pod shop/web-0 has web'],
    [
      { serviceAccountUID: 'old-sa-uid' },
      'the request names ServiceAccount web UID old-sa-uid, but pod shop/web-0 has sa-uid',
    ],
  ])('refuses a request naming %j: PodMismatch', (change, message) => {
    expect(podBindingProblem({ ...request, ...change }, pod)).toEqual({ rule: 'PodMismatch', message });
  });

  it('refuses a request for a pod not yet scheduled, or whose ServiceAccount is gone', () => {
    expect(podBindingProblem(request, { ...pod, nodeName: undefined })?.message).toBe(
      'the request names node node-a, but pod shop/web-0 has none',
    );
    expect(podBindingProblem(request, { ...pod, serviceAccountUID: undefined })?.rule).toBe('PodMismatch');
  });

  it('refuses a request for a terminating pod: PodTerminating', () => {
    expect(podBindingProblem(request, { ...pod, deletionTimestamp: '2030-01-01T00:00:00Z' })).toEqual({
      rule: 'PodTerminating',
      message:
        'pod shop/web-0 is terminating (deleted at 2030-01-01T00:00:00Z): a leaving pod gets no new identity',
    });
  });
});
