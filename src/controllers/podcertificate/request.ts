import { SIGNER_DOMAIN } from '../../api/group.ts';
import type { PodCertificateRequest } from '../../kube/objects.ts';

/** The condition types that end a request; the API allows at most one, and never changes it after. */
export const TERMINAL_CONDITIONS = ['Issued', 'Denied', 'Failed'] as const;

export const isSettled = (request: PodCertificateRequest): boolean =>
  Boolean(request.status?.certificateChain) ||
  (request.status?.conditions ?? []).some(
    (condition) =>
      (TERMINAL_CONDITIONS as readonly string[]).includes(condition.type) && condition.status === 'True',
  );

/** A condition of a request's status, as the API wants it: message bounded, time to the second. */
export const condition = (type: string, reason: string, message: string, now: Date) => ({
  type,
  status: 'True',
  reason,
  message: message.slice(0, 32_768),
  lastTransitionTime: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
});

export const isTrustlineSigner = (signerName: string): boolean => signerName.startsWith(`${SIGNER_DOMAIN}/`);
