import { GROUP } from '../api/group.ts';
import { allKinds } from '../api/kinds.ts';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const plurals = allKinds.map((kind) => kind.plural);

/**
 * What the operator may do cluster-wide. The single source for every RBAC manifest Trustline ships:
 * `npm run generate` writes it into the Helm chart and the kustomize base.
 */
export const operatorClusterRules: PolicyRule[] = [
  { apiGroups: [GROUP], resources: plurals, verbs: ['get', 'list', 'watch'] },
  {
    apiGroups: [GROUP],
    resources: plurals.map((plural) => `${plural}/status`),
    verbs: ['patch'],
  },
];
