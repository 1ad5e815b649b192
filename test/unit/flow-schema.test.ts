import { describe, expect, it } from 'vitest';
import { FLOW_SCHEMA_PRECEDENCE, flowSchemaDocument } from '../../src/deploy/flow-schema.ts';
import { operatorNamespaceRules } from '../../src/deploy/rbac.ts';

const schema = flowSchemaDocument({ name: 'trustline', account: 'trustline', namespace: 'trustline-system' });

describe("the operator's leader-election FlowSchema", () => {
  it('matches only the operator ServiceAccount, on Leases in its own namespace', () => {
    expect(schema.spec.rules).toHaveLength(1);
    const [rule] = schema.spec.rules;
    expect(rule?.subjects).toEqual([
      { kind: 'ServiceAccount', serviceAccount: { name: 'trustline', namespace: 'trustline-system' } },
    ]);
    expect(rule?.resourceRules).toEqual([
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        verbs: ['create', 'get', 'update'],
        namespaces: ['trustline-system'],
      },
    ]);
  });

  it('covers every Lease verb the RBAC grants, so no election request falls to workload-low', () => {
    const granted = operatorNamespaceRules
      .filter((rule) => rule.resources.includes('leases'))
      .flatMap((rule) => rule.verbs);
    expect(new Set(schema.spec.rules[0]?.resourceRules[0]?.verbs)).toEqual(new Set(granted));
  });

  it('is matched before the built-in service-accounts schema (precedence 9000) at leader-election', () => {
    expect(FLOW_SCHEMA_PRECEDENCE).toBeLessThan(9000);
    expect(schema.spec.priorityLevelConfiguration).toEqual({ name: 'leader-election' });
  });
});
