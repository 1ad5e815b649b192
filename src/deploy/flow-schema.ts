import { leaseResource } from '../kube/resources.ts';
import { operatorNamespaceRules } from './rbac.ts';
import type { WorkloadSlots } from './workload.ts';

/** The built-in priority level kube-system's controllers renew their Leases at. */
export const LEADER_ELECTION_PRIORITY_LEVEL = 'leader-election';
/**
 * Below the built-in `service-accounts` schema (9000), which would otherwise put every request of the
 * operator's ServiceAccount at `workload-low`; the same as the built-in `workload-leader-election`.
 */
export const FLOW_SCHEMA_PRECEDENCE = 200;

export const flowSchemaName = (name: string): string => `${name}-leader-election`;

/** The verbs the operator's RBAC allows on Leases: exactly the requests leader election sends. */
const leaseVerbs = [
  ...new Set(
    operatorNamespaceRules
      .filter(
        (rule) =>
          rule.apiGroups.includes(leaseResource.group) && rule.resources.includes(leaseResource.plural),
      )
      .flatMap((rule) => rule.verbs),
  ),
].sort();

/**
 * A FlowSchema that serves the operator ServiceAccount's Lease requests in its own namespace at
 * leader-election priority, so API Priority and Fairness never queues a renewal behind the operator's
 * own writes (the built-in leader-election schemas match kube-system identities only).
 */
export function flowSchemaDocument(slots: Pick<WorkloadSlots, 'name' | 'account' | 'namespace'>) {
  return {
    apiVersion: 'flowcontrol.apiserver.k8s.io/v1',
    kind: 'FlowSchema',
    metadata: { name: flowSchemaName(slots.name) },
    spec: {
      priorityLevelConfiguration: { name: LEADER_ELECTION_PRIORITY_LEVEL },
      matchingPrecedence: FLOW_SCHEMA_PRECEDENCE,
      distinguisherMethod: { type: 'ByUser' },
      rules: [
        {
          subjects: [
            { kind: 'ServiceAccount', serviceAccount: { name: slots.account, namespace: slots.namespace } },
          ],
          resourceRules: [
            {
              apiGroups: [leaseResource.group],
              resources: [leaseResource.plural],
              verbs: leaseVerbs,
              namespaces: [slots.namespace],
            },
          ],
        },
      ],
    },
  };
}
