import { OPERATOR_NAME } from './names.ts';

/**
 * The operator's Deployment and what serves it, for the chart and the kustomize base alike. Each slot is a
 * concrete value in the kustomize base and a Helm expression in the chart (see manifests.ts); slots
 * named in BLOCK_SLOTS hold whole YAML subtrees.
 */
export interface WorkloadSlots {
  name: string;
  account: string;
  namespace: string;
  instance: string;
  replicas: number | string;
  image: string;
  pullPolicy: string;
  svidSecrets: string;
  secretNamespaces: string;
  clusterDomain: string;
  logLevel: string;
  maxUnavailable: number | string;
  monitorInterval: string;
  resources: unknown;
  podAnnotations: unknown;
  nodeSelector: unknown;
  tolerations: unknown;
  affinity: unknown;
  monitorLabels: unknown;
}

/**
 * The environment of the operator's process, in the Deployment and wherever the project starts it
 * (tests, benchmark, demo, dev). V8 lets each semi-space of the young generation grow to 32 MiB, and
 * during a burst of watch events and writes it does; 8 MiB took the 2,000-entry peak from 288 to 190 MiB
 * as fast (`npm run bench -- --entries 2000`, 2026-12-06). The option must reach Node at start, hence
 * NODE_OPTIONS; how fast the old space grows is set by src/main.ts, as NODE_OPTIONS refuses that flag.
 */
export const OPERATOR_PROCESS_ENV: Readonly<Record<string, string>> = {
  NODE_OPTIONS: '--max-semi-space-size=8',
};

/** `/metrics`, over HTTPS to bearer tokens RBAC allows. */
export const METRICS_PORT = 8080;
const METRICS_PORT_NAME = 'https-metrics';
/** `/healthz` and `/readyz`, over plain HTTP for the kubelet; not in the Service. */
export const PROBE_PORT = 8081;
const PROBE_PORT_NAME = 'http-probes';
/** Where every pod finds its ServiceAccount token; Prometheus scrapes with its own. */
const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';
/** The UID and GID of the `node` user in the image; numeric so that runAsNonRoot can be checked. */
const IMAGE_USER = 1000;

const selectorLabels = (slots: WorkloadSlots) => ({
  'app.kubernetes.io/name': OPERATOR_NAME,
  'app.kubernetes.io/instance': slots.instance,
});

const env = (name: string, value: string) => ({ name, value });
const fieldEnv = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });

export function deploymentDocument(slots: WorkloadSlots) {
  const labels = selectorLabels(slots);
  const probe = (path: string) => ({ httpGet: { path, port: PROBE_PORT_NAME }, periodSeconds: 10 });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: slots.name, namespace: slots.namespace, labels },
    spec: {
      replicas: slots.replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels, annotations: slots.podAnnotations },
        spec: {
          serviceAccountName: slots.account,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: IMAGE_USER,
            runAsGroup: IMAGE_USER,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'operator',
              image: slots.image,
              imagePullPolicy: slots.pullPolicy,
              env: [
                // The pod's name identifies the replica in the leader Lease and survives container restarts.
                fieldEnv('POD_NAME', 'metadata.name'),
                fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
                env('TRUSTLINE_METRICS_ADDRESS', `:${METRICS_PORT}`),
                env('TRUSTLINE_PROBE_ADDRESS', `:${PROBE_PORT}`),
                env('TRUSTLINE_SVID_SECRETS', slots.svidSecrets),
                env('TRUSTLINE_SECRET_NAMESPACES', slots.secretNamespaces),
                env('TRUSTLINE_CLUSTER_DOMAIN', slots.clusterDomain),
                env('LOG_LEVEL', slots.logLevel),
                ...Object.entries(OPERATOR_PROCESS_ENV).map(([name, value]) => env(name, value)),
              ],
              ports: [
                { name: METRICS_PORT_NAME, containerPort: METRICS_PORT, protocol: 'TCP' },
                { name: PROBE_PORT_NAME, containerPort: PROBE_PORT, protocol: 'TCP' },
              ],
              livenessProbe: probe('/healthz'),
              readinessProbe: probe('/readyz'),
              resources: slots.resources,
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              // Node writes nothing to disk, but libraries may want a scratch folder.
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: {} }],
          nodeSelector: slots.nodeSelector,
          tolerations: slots.tolerations,
          affinity: slots.affinity,
        },
      },
    },
  };
}

export function metricsServiceDocument(slots: WorkloadSlots) {
  const labels = selectorLabels(slots);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `${slots.name}-metrics`, namespace: slots.namespace, labels },
    spec: {
      selector: labels,
      ports: [
        { name: METRICS_PORT_NAME, port: METRICS_PORT, targetPort: METRICS_PORT_NAME, protocol: 'TCP' },
      ],
    },
  };
}

export function podDisruptionBudgetDocument(slots: WorkloadSlots) {
  const labels = selectorLabels(slots);
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: slots.name, namespace: slots.namespace, labels },
    spec: { maxUnavailable: slots.maxUnavailable, selector: { matchLabels: labels } },
  };
}

export function serviceMonitorDocument(slots: WorkloadSlots) {
  const labels = selectorLabels(slots);
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: slots.name, namespace: slots.namespace, labels: slots.monitorLabels },
    spec: {
      selector: { matchLabels: labels },
      endpoints: [
        {
          port: METRICS_PORT_NAME,
          path: '/metrics',
          interval: slots.monitorInterval,
          scheme: 'https',
          // Prometheus's own token: the operator reviews it, and `<fullname>-metrics-reader` allows it.
          bearerTokenFile: SERVICE_ACCOUNT_TOKEN,
          // Each replica makes its own certificate at start, and no CA vouches for it: the connection is
          // encrypted but the server is not verified (see README, Health and metrics).
          tlsConfig: { insecureSkipVerify: true },
        },
      ],
    },
  };
}
