/**
 * What a PodCertificateRequest claims about its pod, checked against the pod itself. With the Node
 * authorizer and NodeRestriction the apiserver already binds a node's request to its own pods; anyone
 * else allowed to create PodCertificateRequests is not bound so, hence this defence in depth.
 */
export interface RequestClaims {
  podName: string;
  podUID: string;
  nodeName: string;
  serviceAccountName: string;
  serviceAccountUID: string;
}

/** The pod the request names, as the cluster has it, with its ServiceAccount's UID if that exists. */
export interface PodRecord {
  namespace: string;
  uid: string;
  nodeName: string | undefined;
  serviceAccountName: string;
  deletionTimestamp: string | undefined;
  serviceAccountUID: string | undefined;
}

export type PodBindingRule = 'PodMismatch' | 'PodTerminating';

/** The first way the request does not match its pod, or undefined when it matches in every part. */
export function podBindingProblem(
  request: RequestClaims,
  pod: PodRecord,
): { rule: PodBindingRule; message: string } | undefined {
  const who = `pod ${pod.namespace}/${request.podName}`;
  const mismatch = (what: string, asked: string, actual: string | undefined) => ({
    rule: 'PodMismatch' as const,
    message: `the request names ${what} ${asked}, but ${who} has ${actual === undefined ? 'none' : actual}`,
  });
  if (request.podUID !== pod.uid) return mismatch('pod UID', request.podUID, pod.uid);
  if (pod.deletionTimestamp !== undefined) {
    return {
      rule: 'PodTerminating',
      message: `${who} is terminating (deleted at ${pod.deletionTimestamp}): a leaving pod gets no new identity`,
    };
  }
  if (request.nodeName !== pod.nodeName) return mismatch('node', request.nodeName, pod.nodeName);
  if (request.serviceAccountName !== pod.serviceAccountName) {
    return mismatch('ServiceAccount', request.serviceAccountName, pod.serviceAccountName);
  }
  if (request.serviceAccountUID !== pod.serviceAccountUID) {
    return mismatch(
      `ServiceAccount ${pod.serviceAccountName} UID`,
      request.serviceAccountUID,
      pod.serviceAccountUID,
    );
  }
  return undefined;
}
