import type { TrustDomain } from '../../api/trustdomain.ts';
import type { RevocationAuditRecord, SigningRecord } from '../../observability/audit.ts';
import type { AuthorityChange } from '../authorities/lifecycle.ts';
import type { Authority } from '../authorities/model.ts';
import { type RevocationStep, revocationStepMessage } from '../revocation/progress.ts';

export type PlannedAudit = { signed: SigningRecord } | { revocation: RevocationAuditRecord };

/** An event on the TrustDomain, or on the KeyRevocation it names while that still exists. */
export interface PlannedEvent {
  keyRevocation?: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

const CHANGE_EVENT: Record<AuthorityChange['to'], string> = {
  Prepared: 'AuthorityPrepared',
  Active: 'AuthorityActivated',
  Old: 'AuthorityRetired',
  Tainted: 'AuthorityTainted',
  Revoked: 'AuthorityRevoked',
  Pruned: 'AuthorityPruned',
};

export const signedRecord = (trustDomain: TrustDomain, authority: Authority): PlannedAudit => ({
  signed: {
    operation: authority.type === 'X509' ? 'x509-authority' : 'jwt-authority',
    trustDomain: trustDomain.spec.trustDomain,
    signer: authority.type === 'X509' ? (authority.upstream?.signerId ?? authority.id) : authority.id,
    subject: authority.id,
    notBefore: authority.notBefore,
    notAfter: authority.notAfter,
    for: `TrustDomain/${trustDomain.metadata.name}`,
  },
});

export const changeEvent = (change: AuthorityChange): PlannedEvent => ({
  type: 'Normal',
  reason: CHANGE_EVENT[change.to],
  message: `${change.type === 'X509' ? 'X.509' : 'JWT'} authority ${change.id}: ${change.from ?? 'new'} to ${change.to} (${change.reason})`,
});

/** The audit record of a revocation step and its events: on the KeyRevocation, then the TrustDomain. */
export function revocationStepRecords(
  trustDomain: TrustDomain,
  { step, record }: RevocationStep,
): { audit: PlannedAudit; events: PlannedEvent[] } {
  const message = revocationStepMessage(step, record);
  const reason = `Authority${step}`;
  return {
    audit: {
      revocation: {
        step,
        trustDomainRef: trustDomain.metadata.name,
        trustDomain: trustDomain.spec.trustDomain,
        kind: record.kind,
        id: record.id,
        keyRevocation: record.requestedBy,
        reason: record.reason,
        detail: message,
      },
    },
    events: [
      { keyRevocation: record.requestedBy, type: 'Normal', reason, message },
      { type: 'Normal', reason, message },
    ],
  };
}
