import { hostname } from 'node:os';
import { z } from 'zod';
import { parseDuration } from './api/duration.ts';
import { LEASE_JITTER, type LeaseTiming } from './core/leader/lease.ts';
import { DEFAULT_NAMESPACE, LEADER_LEASE_NAME } from './deploy/names.ts';

/** `host:port`, read into a host to listen on (every interface when empty) and a port. */
const listenAddress = (fallback: string) =>
  z
    .string()
    .regex(
      /^(\[[0-9a-fA-F:]+\]|[^:\s]*):[0-9]{1,5}$/,
      `must be host:port, such as ${fallback} or 127.0.0.1:0`,
    )
    .refine(
      (address) => Number(address.slice(address.lastIndexOf(':') + 1)) <= 65_535,
      'port must be at most 65535',
    )
    .default(fallback)
    .transform((address) => {
      const separator = address.lastIndexOf(':');
      const host = address.slice(0, separator).replace(/^\[|\]$/g, '');
      return { host: host === '' ? '0.0.0.0' : host, port: Number(address.slice(separator + 1)) };
    });

const positiveDuration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, context) => {
      const ms = parseDuration(text);
      if (ms === undefined || ms <= 0) {
        context.addIssue({ code: 'custom', message: 'must be a positive duration, such as 15s or 1m' });
        return z.NEVER;
      }
      return ms;
    });

const positiveNumber = (fallback: number, integer: boolean) =>
  z
    .string()
    .default(String(fallback))
    .transform((text, context) => {
      const value = Number(text);
      if (
        text.trim() === '' ||
        !Number.isFinite(value) ||
        value <= 0 ||
        (integer && !Number.isInteger(value))
      ) {
        context.addIssue({
          code: 'custom',
          message: integer
            ? 'must be a positive whole number, such as 100'
            : 'must be a positive number, such as 50',
        });
        return z.NEVER;
      }
      return value;
    });

const environmentSchema = z.object({
  TRUSTLINE_NAMESPACE: z.string().min(1).optional(),
  POD_NAMESPACE: z.string().min(1).optional(),
  TRUSTLINE_METRICS_ADDRESS: listenAddress(':8080'),
  TRUSTLINE_METRICS_SECURE: z.enum(['true', 'false'], { message: 'must be true or false' }).default('true'),
  TRUSTLINE_PROBE_ADDRESS: listenAddress(':8081'),
  // Empty is the same as unset, so a chart can always pass its (possibly empty) list.
  TRUSTLINE_SECRET_NAMESPACES: z
    .string()
    .regex(/^([a-z0-9-]+(,[a-z0-9-]+)*)?$/, 'must be a comma-separated list of namespace names')
    .optional(),
  TRUSTLINE_SVID_SECRETS: z.enum(['true', 'false'], { message: 'must be true or false' }).default('true'),
  TRUSTLINE_CLUSTER_DOMAIN: z
    .string()
    .regex(/^[a-z0-9.-]+$/, 'must be a DNS domain')
    .default('cluster.local'),
  TRUSTLINE_AUDIT_LOG: z.string().min(1).optional(),
  TRUSTLINE_LEADER_ELECTION: z.enum(['true', 'false'], { message: 'must be true or false' }).default('true'),
  TRUSTLINE_LEASE_DURATION: positiveDuration('15s'),
  TRUSTLINE_RENEW_DEADLINE: positiveDuration('10s'),
  TRUSTLINE_RETRY_PERIOD: positiveDuration('2s'),
  TRUSTLINE_API_QPS: positiveNumber(200, false),
  TRUSTLINE_API_BURST: positiveNumber(400, true),
  POD_NAME: z.string().min(1).optional(),
});

export interface OperatorConfig {
  /** Where the journal Secrets and upstream CA Secrets live. */
  namespace: string;
  metrics: { host: string; port: number };
  /**
   * `/metrics` over HTTPS for callers that pass a TokenReview and a SubjectAccessReview; false: plain
   * HTTP to anyone who can reach the port (TRUSTLINE_METRICS_SECURE=false, for local runs).
   */
  metricsSecure: boolean;
  /** Where `/healthz` and `/readyz` are served, over plain HTTP without authentication, for the kubelet. */
  probes: { host: string; port: number };
  /**
   * Namespaces where SVID Secrets may be written; every namespace when undefined, none when empty
   * (TRUSTLINE_SVID_SECRETS=false: pods get identities through podCertificate volumes only).
   */
  secretNamespaces: string[] | undefined;
  clusterDomain: string;
  /** A file for the audit stream; standard output when undefined. */
  auditLog: string | undefined;
  /** Replicas elect one leader that writes; undefined: this process writes at once, alone. */
  leaderElection: { leaseName: string; identity: string; timing: LeaseTiming } | undefined;
  /**
   * The rate of Trustline's requests to the apiserver (the leader Lease's excepted), so a burst of
   * work leaves the apiserver room to answer everyone else.
   */
  apiRateLimit: { qps: number; burst: number };
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
    TRUSTLINE_METRICS_SECURE,
    TRUSTLINE_PROBE_ADDRESS,
    TRUSTLINE_SECRET_NAMESPACES,
    TRUSTLINE_SVID_SECRETS,
    TRUSTLINE_CLUSTER_DOMAIN,
    TRUSTLINE_AUDIT_LOG,
    TRUSTLINE_LEADER_ELECTION,
    TRUSTLINE_LEASE_DURATION,
    TRUSTLINE_RENEW_DEADLINE,
    TRUSTLINE_RETRY_PERIOD,
    TRUSTLINE_API_QPS,
    TRUSTLINE_API_BURST,
    POD_NAME,
  } = parsed.data;
  // client-go's rules: a leader gives up before anyone may take over, and retries before it gives up.
  if (TRUSTLINE_RENEW_DEADLINE >= TRUSTLINE_LEASE_DURATION)
    throw new Error('TRUSTLINE_RENEW_DEADLINE: must be shorter than TRUSTLINE_LEASE_DURATION');
  if (TRUSTLINE_RETRY_PERIOD * LEASE_JITTER >= TRUSTLINE_RENEW_DEADLINE)
    throw new Error(
      `TRUSTLINE_RETRY_PERIOD: must be shorter than TRUSTLINE_RENEW_DEADLINE / ${LEASE_JITTER}`,
    );
  // Two listeners cannot share a port; port 0 picks a free one for each.
  if (TRUSTLINE_PROBE_ADDRESS.port !== 0 && TRUSTLINE_PROBE_ADDRESS.port === TRUSTLINE_METRICS_ADDRESS.port)
    throw new Error('TRUSTLINE_PROBE_ADDRESS: must use another port than TRUSTLINE_METRICS_ADDRESS');
  return {
    namespace: TRUSTLINE_NAMESPACE ?? POD_NAMESPACE ?? DEFAULT_NAMESPACE,
    metrics: TRUSTLINE_METRICS_ADDRESS,
    metricsSecure: TRUSTLINE_METRICS_SECURE === 'true',
    probes: TRUSTLINE_PROBE_ADDRESS,
    secretNamespaces:
      TRUSTLINE_SVID_SECRETS === 'false'
        ? []
        : TRUSTLINE_SECRET_NAMESPACES
          ? TRUSTLINE_SECRET_NAMESPACES.split(',')
          : undefined,
    clusterDomain: TRUSTLINE_CLUSTER_DOMAIN,
    auditLog: TRUSTLINE_AUDIT_LOG,
    leaderElection:
      TRUSTLINE_LEADER_ELECTION === 'false'
        ? undefined
        : {
            leaseName: LEADER_LEASE_NAME,
            // The pod's name survives a container restart, so a restarted leader takes its Lease back at once.
            identity: POD_NAME ?? `${hostname()}_${process.pid}`,
            timing: {
              leaseDurationMs: TRUSTLINE_LEASE_DURATION,
              renewDeadlineMs: TRUSTLINE_RENEW_DEADLINE,
              retryPeriodMs: TRUSTLINE_RETRY_PERIOD,
            },
          },
    apiRateLimit: { qps: TRUSTLINE_API_QPS, burst: TRUSTLINE_API_BURST },
  };
}
