/** Names of the objects a default installation creates, shared by the manifests and the docs. */
export const DEFAULT_NAMESPACE = 'trustline-system';
export const OPERATOR_NAME = 'trustline';
/** The Lease in the operator's namespace that replicas elect their leader with. */
export const LEADER_LEASE_NAME = 'trustline-leader';
