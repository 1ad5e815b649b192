import { z } from 'zod';

/**
 * The Helm chart's values, defined once: their defaults and descriptions become values.yaml, the
 * schema becomes values.schema.json, and the kustomize base is rendered from the defaults.
 */

const quantity = z.string().regex(/^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/, 'must be a quantity');
const resourceList = z.strictObject({ cpu: quantity.optional(), memory: quantity.optional() });
const namespaceName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a namespace name')
  .max(63);
const stringMap = z.record(z.string(), z.string());

/** Nested objects fill their own defaults in when left out (`prefault`, not `default`). */
export const chartValuesSchema = z.strictObject({
  replicas: z
    .number()
    .int()
    .min(1)
    .default(2)
    .describe(
      'Operator replicas. They elect one leader through a Lease; the others stand by with warm caches.',
    ),
  image: z
    .strictObject({
      repository: z.string().min(1).default('ghcr.io/trustline/trustline'),
      tag: z.string().default('').describe("The image tag; the chart's appVersion when empty."),
      pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
    })
    .prefault({})
    .describe('The operator image.'),
  fullnameOverride: z.string().default('').describe("Overrides the release's full name."),
  serviceAccount: z
    .strictObject({
      name: z
        .string()
        .default('')
        .describe("The name of the operator's ServiceAccount; the full name if empty."),
    })
    .prefault({}),
  svidSecrets: z
    .boolean()
    .default(true)
    .describe(
      'Secret mode: RegistrationEntries may ask for SVIDs in Secrets. false: projected volumes only (podCertificate and ClusterTrustBundle); Trustline holds no Secret rights outside its own namespace.',
    ),
  secretNamespaces: z
    .array(namespaceName)
    .default([])
    .describe(
      'Namespaces where SVID Secrets may be written, each with a Role of its own. Empty: every namespace, through a ClusterRole on Secrets.',
    ),
  clusterDomain: z
    .string()
    .regex(/^[a-z0-9.-]+$/, 'must be a DNS domain')
    .default('cluster.local')
    .describe("The cluster's DNS domain, for DNS names in pod certificates."),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  resources: z
    .strictObject({ requests: resourceList.optional(), limits: resourceList.optional() })
    .default({ requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } })
    .describe('Measured: about 400 MiB at peak with a thousand entries and a revocation under way.'),
  podDisruptionBudget: z
    .strictObject({
      enabled: z.boolean().default(true),
      maxUnavailable: z.number().int().min(1).default(1),
    })
    .prefault({})
    .describe(
      'Limits voluntary disruptions such as node drains to one replica at a time; a single replica can still be drained.',
    ),
  flowSchema: z
    .strictObject({
      enabled: z
        .boolean()
        .default(true)
        .describe(
          "Serves the operator's leader Lease requests at the apiserver's leader-election priority level, so its own load never delays a renewal. Installing it needs the right to create FlowSchemas.",
        ),
    })
    .prefault({}),
  serviceMonitor: z
    .strictObject({
      enabled: z.boolean().default(false).describe('Needs the Prometheus Operator CRDs.'),
      interval: z.string().default('30s'),
      labels: stringMap.default({}).describe("Labels your Prometheus's serviceMonitorSelector matches."),
    })
    .prefault({}),
  metricsReaders: z
    .array(
      z.strictObject({
        kind: z.literal('ServiceAccount'),
        name: z.string().min(1),
        namespace: namespaceName,
      }),
    )
    .default([])
    .describe(
      "ServiceAccounts that may scrape /metrics (your Prometheus's), as RBAC subjects ({kind: ServiceAccount, name, namespace}) of a ClusterRoleBinding to <fullname>-metrics-reader.",
    ),
  podAnnotations: stringMap.default({}),
  nodeSelector: stringMap.default({}),
  tolerations: z.array(z.record(z.string(), z.unknown())).default([]),
  affinity: z.record(z.string(), z.unknown()).default({}),
  // Helm passes `global` to every chart, subcharts' values included.
  global: z.record(z.string(), z.unknown()).optional(),
});

export type ChartValues = z.infer<typeof chartValuesSchema>;

export const chartDefaults: ChartValues = chartValuesSchema.parse({});
