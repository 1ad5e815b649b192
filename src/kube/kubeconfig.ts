import { isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

const clusterSchema = z.looseObject({
  server: z.string().min(1),
  'certificate-authority': z.string().optional(),
  'certificate-authority-data': z.string().optional(),
  'insecure-skip-tls-verify': z.boolean().optional(),
  'tls-server-name': z.string().optional(),
  'proxy-url': z.string().optional(),
});

const userSchema = z.looseObject({
  token: z.string().optional(),
  tokenFile: z.string().optional(),
  'client-certificate': z.string().optional(),
  'client-certificate-data': z.string().optional(),
  'client-key': z.string().optional(),
  'client-key-data': z.string().optional(),
  username: z.string().optional(),
  exec: z.unknown().optional(),
  'auth-provider': z.unknown().optional(),
  as: z.string().optional(),
});

const kubeconfigSchema = z.looseObject({
  'current-context': z.string().optional(),
  clusters: z.array(z.looseObject({ name: z.string(), cluster: clusterSchema })).nullish(),
  users: z.array(z.looseObject({ name: z.string(), user: userSchema.nullish() })).nullish(),
  contexts: z
    .array(
      z.looseObject({
        name: z.string(),
        context: z.looseObject({ cluster: z.string(), user: z.string().optional() }),
      }),
    )
    .nullish(),
});

/** A value given inline (base64 in the kubeconfig) or as a file to read. */
export type Material = { data: Buffer } | { file: string };

/** What the operator's own loader needs to reach the cluster of a kubeconfig's current context. */
export interface KubeconfigCredentials {
  server: string;
  ca?: Material;
  cert?: Material;
  key?: Material;
  insecureSkipTlsVerify: boolean;
  servername?: string;
  token?: { value: string } | { file: string };
}

/**
 * The kubeconfig's current context as credentials, or 'delegate' when it needs what only
 * @kubernetes/client-node implements: exec and auth-provider plugins, basic auth, impersonation and
 * proxies. Relative file paths resolve against the kubeconfig's directory, as kubectl does.
 */
export function resolveKubeconfig(text: string, directory: string): KubeconfigCredentials | 'delegate' {
  const parsed = kubeconfigSchema.safeParse(parse(text));
  if (!parsed.success) throw new Error(`the kubeconfig is not valid: ${z.prettifyError(parsed.error)}`);
  const config = parsed.data;
  const contextName = config['current-context'];
  if (!contextName) throw new Error('the kubeconfig has no current-context');
  const context = config.contexts?.find((entry) => entry.name === contextName)?.context;
  if (!context)
    throw new Error(`the kubeconfig's current-context "${contextName}" is not among its contexts`);
  const cluster = config.clusters?.find((entry) => entry.name === context.cluster)?.cluster;
  if (!cluster)
    throw new Error(
      `the kubeconfig's context "${contextName}" names cluster "${context.cluster}", which it lacks`,
    );
  const user =
    context.user === undefined
      ? {}
      : (config.users?.find((entry) => entry.name === context.user)?.user ?? {});
  const needsLibrary = [user.exec, user['auth-provider'], user.username, user.as, cluster['proxy-url']];
  if (needsLibrary.some((field) => field !== undefined)) return 'delegate';

  const path = (file: string) => (isAbsolute(file) ? file : join(directory, file));
  const material = (data: string | undefined, file: string | undefined): Material | undefined =>
    data !== undefined
      ? { data: Buffer.from(data, 'base64') }
      : file !== undefined
        ? { file: path(file) }
        : undefined;
  const token =
    user.token !== undefined
      ? { value: user.token }
      : user.tokenFile !== undefined
        ? { file: path(user.tokenFile) }
        : undefined;
  return {
    server: cluster.server,
    ca: material(cluster['certificate-authority-data'], cluster['certificate-authority']),
    cert: material(user['client-certificate-data'], user['client-certificate']),
    key: material(user['client-key-data'], user['client-key']),
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] ?? false,
    servername: cluster['tls-server-name'],
    token,
  };
}
