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
});

export interface OperatorConfig {
  /** Where the journal Secrets and upstream CA Secrets live. */
  namespace: string;
  metrics: { host: string; port: number };
}

/** The operator's settings from its environment, checked once at start with errors that name the variable. */
export function configFromEnvironment(environment: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const parsed = environmentSchema.safeParse(environment);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${issue?.path.join('.')}: ${issue?.message}`);
  }
  const { TRUSTLINE_NAMESPACE, POD_NAMESPACE, TRUSTLINE_METRICS_ADDRESS } = parsed.data;
  const separator = TRUSTLINE_METRICS_ADDRESS.lastIndexOf(':');
  const host = TRUSTLINE_METRICS_ADDRESS.slice(0, separator).replace(/^\[|\]$/g, '');
  return {
    namespace: TRUSTLINE_NAMESPACE ?? POD_NAMESPACE ?? DEFAULT_NAMESPACE,
    metrics: {
      host: host === '' ? '0.0.0.0' : host,
      port: Number(TRUSTLINE_METRICS_ADDRESS.slice(separator + 1)),
    },
  };
}
