import type { LabelSelector } from '../../api/meta.ts';
import type { TrustDomainSpec } from '../../api/trustdomain.ts';
import { selectorMatches } from '../selector.ts';

type IssuanceSpec = Pick<TrustDomainSpec, 'bundle' | 'issuance'>;

/**
 * The namespaces that may hold a TrustDomain's identities, and the field that says so: its own selector,
 * else the bundle's (a namespace that may hold identities needs the bundle), else every namespace.
 */
export function issuanceSelector(spec: IssuanceSpec): { selector: LabelSelector; field: string } | undefined {
  if (spec.issuance?.namespaceSelector) {
    return { selector: spec.issuance.namespaceSelector, field: 'spec.issuance.namespaceSelector' };
  }
  if (spec.bundle.namespaceSelector) {
    return {
      selector: spec.bundle.namespaceSelector,
      field:
        'spec.bundle.namespaceSelector, which issuance follows while spec.issuance.namespaceSelector is unset',
    };
  }
  return undefined;
}

/**
 * Why a namespace may not hold identities of a TrustDomain, or undefined when it may. Labels are
 * undefined for a namespace not (yet) known: it is not taken to be selected.
 */
export function membershipProblem(
  trustDomainObject: string,
  spec: IssuanceSpec,
  namespace: string,
  labels: Readonly<Record<string, string>> | undefined,
): string | undefined {
  const issuance = issuanceSelector(spec);
  if (!issuance) return undefined;
  if (labels !== undefined && selectorMatches(issuance.selector, labels)) return undefined;
  const known = labels === undefined ? ' (Trustline has not seen the namespace yet)' : '';
  return `namespace ${namespace}${known} is not selected by TrustDomain ${trustDomainObject}'s issuance namespace selector ${JSON.stringify(issuance.selector)} (${issuance.field})`;
}
