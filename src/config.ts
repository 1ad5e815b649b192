import { z } from 'zod';
import { DEFAULT_NAMESPACE } from './deploy/names.ts';

const environmentSchema = z.object({
  TRUSTLINE_NAMESPACE: z.string().min(1).optional(),
  POD_NAMESPACE: z.string().min(1).optional(),
  TRUSTLINE_METRICS_ADDRESS: z
    .string()
    .regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]*):[0-9]{1,5}$/, 'must be host:port, such as :8080 or 127.0.0.1:0')
    .refine(
      (address) => Number(address.slice(address.lastIndexOf(':') + 1)) <= 65_535,
      'port must be at most 65535',
    )
    .default(':8080'),
  TRUSTLINE_SECRET_NAMESPACES: z
    .string()
    .regex(/^[a-z0-9-]+(,[a-z0-9-]+)*$/, 'must be a comma-separated list of namespace names')
    .optional(),
  TRUSTLINE_SVID_SECRETS: z.enum(['true', 'false'], { message: 'must be true or false' }).default('true'),
  TRUSTLINE_CLUSTER_DOMAIN: z
    .string()
    .regex(/^[a-z0-9.-]+$/, 'must be a DNS domain')
    .default('cluster.local'),
  TRUSTLINE_AUDIT_LOG: z.string().min(1).optional(),
});

export interface OperatorConfig {
  /** Where the journal Secrets and upstream CA Secrets live. */
  namespace: string;
  metrics: { host: string; port: number };
  /**
   * Namespaces where SVID Secrets may be written; every namespace when undefined, none when empty
   * (TRUSTLINE_SVID_SECRETS=false: pods get identities through podCertificate volumes only).
   */
  secretNamespaces: string[] | undefined;
  clusterDomain: string;
  /** A file for the audit stream; standard output when undefined. */
  auditLog: string | undefined;
}

/** The operator's settings from its environment, checked once at start with errors that name the variable. */
export function configFromEnvironment(environment: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const parsed = environmentSchema.safeParse(environment);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${issue?.path.join('.')}: ${issue?.message}`);
  }
  const {
    TRUSTLINE_NAMESPACE,
    POD_NAMESPACE,
    TRUSTLINE_METRICS_ADDRESS,
    TRUSTLINE_SECRET_NAMESPACES,
    TRUSTLINE_SVID_SECRETS,
    TRUSTLINE_CLUSTER_DOMAIN,
    TRUSTLINE_AUDIT_LOG,
  } = parsed.data;
  const separator = TRUSTLINE_METRICS_ADDRESS.lastIndexOf(':');
  const host = TRUSTLINE_METRICS_ADDRESS.slice(0, separator).replace(/^\[|\]$/g, '');
  return {
    namespace: TRUSTLINE_NAMESPACE ?? POD_NAMESPACE ?? DEFAULT_NAMESPACE,
    metrics: {
      host: host === '' ? '0.0.0.0' : host,
      port: Number(TRUSTLINE_METRICS_ADDRESS.slice(separator + 1)),
    },
    secretNamespaces: TRUSTLINE_SVID_SECRETS === 'false' ? [] : TRUSTLINE_SECRET_NAMESPACES?.split(','),
    clusterDomain: TRUSTLINE_CLUSTER_DOMAIN,
    auditLog: TRUSTLINE_AUDIT_LOG,
  };
}
