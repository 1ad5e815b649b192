import { ANNOTATION_UPSTREAM_FOR } from '../../api/well-known.ts';

/**
 * Why a TrustDomain may not use an upstream CA Secret, or undefined when the Secret's
 * `trustline.dev/upstream-for` annotation names it (a comma-separated list of TrustDomain object
 * names). Without the binding any TrustDomain naming the Secret would sign under that CA.
 */
export function upstreamBindingProblem(
  secret: { namespace: string; name: string; annotations?: Readonly<Record<string, string>> | undefined },
  trustDomainObject: string,
): string | undefined {
  const value = secret.annotations?.[ANNOTATION_UPSTREAM_FOR];
  const bound = (value ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (bound.includes(trustDomainObject)) return undefined;
  const now =
    bound.length === 0 ? 'is bound to no TrustDomain' : `is bound to TrustDomain ${bound.join(', ')}`;
  return `upstream CA Secret ${secret.namespace}/${secret.name} ${now}, not to ${trustDomainObject}: annotate it ${ANNOTATION_UPSTREAM_FOR}=${trustDomainObject} (kubectl annotate secret -n ${secret.namespace} ${secret.name} ${ANNOTATION_UPSTREAM_FOR}=${trustDomainObject}) if this TrustDomain may sign under it`;
}
