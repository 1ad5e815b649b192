import type { PodCertificateRequest } from '../../kube/objects.ts';

/** The condition types that end a request; the API allows at most one, and never changes it after. */
export const TERMINAL_CONDITIONS = ['Issued', 'Denied', 'Failed'] as const;

export const isSettled = (request: PodCertificateRequest): boolean =>
  Boolean(request.status?.certificateChain) ||
  (request.status?.conditions ?? []).some(
    (condition) =>
      (TERMINAL_CONDITIONS as readonly string[]).includes(condition.type) && condition.status === 'True',
  );
