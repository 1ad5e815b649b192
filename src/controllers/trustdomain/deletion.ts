import { registrationEntryRefSchema } from '../../api/registrationentry.ts';
import { claimedTrustDomain } from '../../api/trustdomain.ts';
import { FINALIZER_IN_USE } from '../../api/well-known.ts';
import type { DesiredCondition } from '../../core/conditions.ts';
import { readyCondition as ready } from '../../core/conditions.ts';
import { inSlices } from '../../core/time-slice.ts';
import { listNames } from '../../core/trustdomain/conditions.ts';
import { TrustDomainReason } from '../../core/trustdomain/reasons.ts';
import type { KubeObject } from '../../kube/informer.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { claimsIn } from '../ownership.ts';
import type { Cache } from './observation.ts';
import type { TrustDomainWrites } from './writes.ts';

/** The RegistrationEntries that use a TrustDomain, as namespace/name, read in slices. */
export async function usersOf(registrationEntries: Cache, name: string): Promise<string[]> {
  const users: string[] = [];
  for await (const entry of inSlices(registrationEntries.list())) {
    const parsed = registrationEntryRefSchema.safeParse(entry);
    if (parsed.success && parsed.data.spec.trustDomainRef.name === name)
      users.push(`${parsed.data.metadata.namespace}/${parsed.data.metadata.name}`);
  }
  return users.sort();
}

/** Drops the metrics of a deleted TrustDomain, unless another object serves the same name. */
function forgetMetrics(
  trustDomains: Cache,
  metrics: Pick<Metrics, 'forgetTrustDomain'>,
  object: KubeObject,
): void {
  const claimed = claimedTrustDomain(object);
  if (claimed === undefined) return;
  const others = claimsIn(trustDomains).filter((claim) => claim.name !== object.metadata.name);
  if (others.some((claim) => claim.trustDomain === claimed)) return;
  metrics.forgetTrustDomain(claimed);
}

/**
 * A TrustDomain being deleted goes once no RegistrationEntry uses it: `done` when its finalizer is
 * gone (or was never there), or the condition that says what deletion waits for.
 */
export async function handleDeletion(
  options: {
    writes: Pick<TrustDomainWrites, 'setFinalizers'>;
    trustDomains: Cache;
    registrationEntries: Cache;
    metrics: Pick<Metrics, 'forgetTrustDomain'>;
  },
  object: KubeObject,
): Promise<'done' | DesiredCondition> {
  const finalizers = object.metadata.finalizers ?? [];
  if (!finalizers.includes(FINALIZER_IN_USE)) return 'done';
  const users = await usersOf(options.registrationEntries, object.metadata.name);
  if (users.length === 0) {
    await options.writes.setFinalizers(
      object,
      finalizers.filter((finalizer) => finalizer !== FINALIZER_IN_USE),
    );
    forgetMetrics(options.trustDomains, options.metrics, object);
    return 'done';
  }
  return ready(
    TrustDomainReason.InUse,
    `deletion waits for ${users.length} RegistrationEntries that use this trust domain: ${listNames(users)}`,
  );
}
