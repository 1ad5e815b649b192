import type { RegistrationEntry } from '../../api/registrationentry.ts';
import type { TrustDomain } from '../../api/trustdomain.ts';
import type { KubeObject } from '../../kube/informer.ts';
import type { ReconcileResult } from '../../kube/workqueue.ts';
import { checkNamespaceClaim, NAMESPACE_NOT_CACHED_RETRY_MS } from '../signing-context.ts';
import type { EntryControllerOptions } from './options.ts';
import type { EntryReporter } from './refusals.ts';

/**
 * Whether the entry's namespace may claim the identity it names; when not, the refusal is reported
 * (or, for a namespace not yet cached, a look again shortly) and its result returned.
 */
export async function claimRefusal(
  options: EntryControllerOptions,
  reporter: EntryReporter,
  object: KubeObject,
  entry: RegistrationEntry,
  trustDomain: TrustDomain,
): Promise<{ result: ReconcileResult } | undefined> {
  const verdict = checkNamespaceClaim(options, entry.metadata.namespace ?? '', trustDomain, {
    spiffeIDPath: entry.spec.spiffeIDPath,
    dnsNames: entry.spec.dnsNames ?? [],
  });
  if (verdict.allowed) return undefined;
  if (verdict.rule === 'NamespaceNotCached')
    return { result: { requeueAfterMs: NAMESPACE_NOT_CACHED_RETRY_MS } };
  await reporter.refuse(object, verdict.rule, verdict.message);
  return { result: undefined };
}
