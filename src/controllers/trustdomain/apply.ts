import type { Logger } from 'pino';
import { API_VERSION } from '../../api/group.ts';
import { keyRevocationKind } from '../../api/keyrevocation.ts';
import { signerNameOf, type TrustDomain } from '../../api/trustdomain.ts';
import { revocationStepMessage } from '../../core/revocation/progress.ts';
import type { PublishedOutcome } from '../../core/trustdomain/outcome.ts';
import type { RotationPlan } from '../../core/trustdomain/plan.ts';
import type { PlannedEvent } from '../../core/trustdomain/records.ts';
import { KubeApiError } from '../../kube/errors.ts';
import type { EventRecorder } from '../../kube/events.ts';
import type { Informer } from '../../kube/informer.ts';
import type { AuditLog } from '../../observability/audit.ts';
import type { FailpointTrigger } from '../../observability/failpoints.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { TrustDomainWrites } from './writes.ts';

export interface ApplyContext {
  writes: TrustDomainWrites;
  keyRevocations: Pick<Informer, 'get'>;
  log: Logger;
  metrics: Pick<Metrics, 'countRotation' | 'setAuthorities' | 'setBundleSequence'>;
  audit: Pick<AuditLog, 'signed' | 'revocation'>;
  events: Pick<EventRecorder, 'record'>;
  failpoint: FailpointTrigger;
}

const involved = (trustDomain: TrustDomain) => ({
  apiVersion: trustDomain.apiVersion,
  kind: trustDomain.kind,
  metadata: trustDomain.metadata,
});

async function recordEvent(
  context: ApplyContext,
  trustDomain: TrustDomain,
  event: PlannedEvent,
): Promise<void> {
  const { type, reason, message } = event;
  if (event.keyRevocation === undefined) {
    await context.events.record(involved(trustDomain), type, reason, message);
    return;
  }
  // The KeyRevocation may be gone already: its event goes only where it still exists.
  const revocation = context.keyRevocations.get(event.keyRevocation);
  if (!revocation) return;
  await context.events.record(
    { apiVersion: API_VERSION, kind: keyRevocationKind.kind, metadata: revocation.metadata },
    type,
    reason,
    message,
  );
}

/**
 * Records the plan's journal, the commit point, with its audit records before and its events after,
 * and sets the metrics of the authorities.
 */
export async function commitJournal(context: ApplyContext, plan: RotationPlan): Promise<void> {
  const { audit, failpoint, log, metrics } = context;
  const { trustDomain } = plan.input;
  const name = trustDomain.spec.trustDomain;
  // Audited before the write, as signings are: a record of a step never lost to a crash, at worst
  // repeated when the step is taken again.
  for (const record of plan.audit) {
    if ('signed' in record) audit.signed(record.signed);
    else audit.revocation(record.revocation);
  }
  if (plan.write) {
    // After this write the new keys exist; before it, they never did.
    await context.writes.saveJournal(plan.input.stored, plan.write);
    failpoint('journal-written');
    if (plan.steps.some(({ step }) => step === 'Tainted')) failpoint('revocation-tainted');
    if (plan.steps.some(({ step }) => step === 'Revoked')) failpoint('revocation-revoked');
  }
  for (const { step, record } of plan.steps) {
    log.info(
      { trustDomain: name, step, kind: record.kind, id: record.id },
      revocationStepMessage(step, record),
    );
  }
  for (const change of plan.changes) {
    metrics.countRotation(name, change.type, change.to);
    log.info({ trustDomain: name, ...change }, 'authority changed state');
  }
  for (const event of plan.events) await recordEvent(context, trustDomain, event);
  metrics.setAuthorities(
    name,
    plan.journal.authorities.map(({ type, id, state, notAfter }) => ({
      type,
      id,
      state,
      notAfter: new Date(notAfter),
    })),
  );
  metrics.setBundleSequence(name, plan.journal.bundle.sequence);
}

/** The ClusterTrustBundle of the TrustDomain's signer; a failure is reported and retried, not thrown. */
async function publishClusterTrustBundle(
  context: ApplyContext,
  trustDomain: TrustDomain,
  pem: string,
): Promise<string | undefined> {
  try {
    await context.writes.publishClusterTrustBundle(trustDomain, pem);
    return undefined;
  } catch (error) {
    if (!(error instanceof KubeApiError)) throw error;
    const message = `the ClusterTrustBundle of signer ${signerNameOf(trustDomain)} was not written: ${error.message}`;
    context.log.warn({ trustDomain: trustDomain.metadata.name, err: error }, message);
    await context.events.record(involved(trustDomain), 'Warning', 'ClusterTrustBundleNotPublished', message);
    return message;
  }
}

/** Writes the bundle ConfigMaps, the OIDC ConfigMap and the ClusterTrustBundle the plan wants. */
export async function applyPublications(
  context: ApplyContext,
  plan: RotationPlan,
): Promise<PublishedOutcome> {
  const { failpoint, writes } = context;
  const { publications } = plan;
  const changed = plan.write !== undefined;
  const bundle = await writes.publish(publications.bundle, () => {
    if (changed) failpoint('bundle-partly-published');
  });
  const oidc = await writes.publish(publications.oidc);
  const clusterTrustBundle = await publishClusterTrustBundle(
    context,
    plan.input.trustDomain,
    publications.clusterTrustBundlePem,
  );
  if (changed) failpoint('bundle-published');
  return { bundle, oidc, clusterTrustBundle };
}
