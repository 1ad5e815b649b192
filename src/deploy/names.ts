/** Names of the objects a default installation creates, shared by the manifests and the docs. */
export const DEFAULT_NAMESPACE = 'trustline-system';
export const OPERATOR_NAME = 'trustline';
export const CLUSTER_ROLE_NAME = 'trustline-operator';
