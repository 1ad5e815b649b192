import type { TrustDomain } from '../../api/trustdomain.ts';
import { parseUpstreamCA, type UpstreamCA, UpstreamError } from '../../core/authorities/upstream.ts';
import { upstreamBindingProblem } from '../../core/trustdomain/upstream-binding.ts';
import { dataObjectSchema, decodeSecretData } from '../../kube/data-objects.ts';
import type { Informer } from '../../kube/informer.ts';

/** The upstream CA Secret exists but does not name the TrustDomain among those that may use it. */
export class UpstreamNotBoundError extends Error {}

/**
 * A TrustDomain's upstream CA read from the cache of the operator namespace's Secrets: undefined when
 * the trust domain is self-signed, or the error that says why the Secret cannot be used.
 */
export function readUpstream(
  trustDomain: TrustDomain,
  secrets: Pick<Informer, 'get'>,
  operatorNamespace: string,
  now: Date,
): UpstreamCA | undefined | Error {
  const reference = trustDomain.spec.upstream;
  if (!reference) return undefined;
  const secret = secrets.get(`${operatorNamespace}/${reference.secretName}`);
  if (!secret) {
    return new Error(`upstream CA Secret ${operatorNamespace}/${reference.secretName} does not exist`);
  }
  const unbound = upstreamBindingProblem(
    { namespace: operatorNamespace, name: reference.secretName, annotations: secret.metadata.annotations },
    trustDomain.metadata.name,
  );
  if (unbound) return new UpstreamNotBoundError(unbound);
  const decoded = decodeSecretData(dataObjectSchema.safeParse(secret).data?.data);
  try {
    return parseUpstreamCA(decoded, now);
  } catch (error) {
    if (error instanceof UpstreamError) {
      return new UpstreamError(
        error.code,
        `upstream CA Secret ${operatorNamespace}/${reference.secretName}: ${error.message}`,
      );
    }
    throw error;
  }
}
