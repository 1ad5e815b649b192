import { writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { kubeconfigFor, type RunningControlPlane } from '../hack/controlplane/cluster.ts';
import { flowSchemaDocument } from '../src/deploy/flow-schema.ts';
import { clusterSecretDocuments, rbacDocuments } from '../src/deploy/manifests.ts';
import { OPERATOR_NAME } from '../src/deploy/names.ts';
import type { RestClient } from '../src/kube/rest.ts';
import { serviceAccountToken } from '../test/fixtures/service-accounts.ts';

const documentSchema = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: z.looseObject({ namespace: z.string().optional() }),
});

/** The collection a built-in document is created in; every kind here pluralises with an `s`. */
function collectionOf(document: z.infer<typeof documentSchema>): string {
  const prefix = document.apiVersion.includes('/')
    ? `/apis/${document.apiVersion}`
    : `/api/${document.apiVersion}`;
  const scope = document.metadata.namespace ? `/namespaces/${document.metadata.namespace}` : '';
  return `${prefix}${scope}/${document.kind.toLowerCase()}s`;
}

/**
 * What the chart installs for the operator in `namespace` (its ServiceAccount, the cluster-wide Secret
 * mode RBAC, the leader-election FlowSchema), rendered by the same functions, and a kubeconfig at
 * `kubeconfigFile` holding a TokenRequest token for that ServiceAccount alone: the operator's requests
 * are then classified by API Priority and Fairness as in a cluster, not exempt as system:masters' are.
 */
export async function installOperatorIdentity(
  admin: RestClient,
  controlPlane: RunningControlPlane,
  namespace: string,
  kubeconfigFile: string,
): Promise<void> {
  const names = { account: OPERATOR_NAME, role: namespace, namespace };
  const documents = [
    ...rbacDocuments(names),
    ...clusterSecretDocuments(names),
    flowSchemaDocument({ name: namespace, account: OPERATOR_NAME, namespace }),
  ];
  for (const document of documents) {
    await admin.request('POST', collectionOf(documentSchema.parse(document)), { body: document });
  }
  const token = await serviceAccountToken(admin, namespace, OPERATOR_NAME);
  await writeFile(kubeconfigFile, kubeconfigFor(controlPlane.server, controlPlane.caCertificate, token), {
    mode: 0o600,
  });
}
