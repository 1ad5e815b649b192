import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { type KubeconfigCredentials, type Material, resolveKubeconfig } from './kubeconfig.ts';

/** How the REST client reaches and signs in to the apiserver. */
export interface ClusterCredentials {
  readonly server: string;
  readonly tls: {
    ca?: Buffer;
    cert?: Buffer;
    key?: Buffer;
    rejectUnauthorized?: boolean;
    servername?: string;
  };
  /** The headers that authenticate a request sent now (lower-case names). */
  headers(): Promise<Record<string, string>>;
}

/** Where credentials are looked for; the process's own by default, other places in tests. */
export interface CredentialSources {
  env: Record<string, string | undefined>;
  home: string;
  serviceAccountDir: string;
  now: () => number;
}

const defaultSources = (): CredentialSources => ({
  env: process.env,
  home: homedir(),
  serviceAccountDir: '/var/run/secrets/kubernetes.io/serviceaccount',
  now: Date.now,
});

/** client-go reads a token file again after a minute: the kubelet rotates projected tokens long before they expire. */
const TOKEN_FILE_TTL_MS = 60_000;

/** A bearer token read from a file, again once it is a minute old; concurrent callers share one read. */
class TokenFile {
  readonly #file: string;
  readonly #now: () => number;
  #token: Promise<string> | undefined;
  #readAt = 0;

  constructor(file: string, now: () => number) {
    this.#file = file;
    this.#now = now;
  }

  token(): Promise<string> {
    const now = this.#now();
    if (this.#token === undefined || now - this.#readAt >= TOKEN_FILE_TTL_MS) {
      this.#readAt = now;
      const read = readFile(this.#file, 'utf8').then((text) => text.trim());
      // A failed read is tried again by the next request rather than remembered for a minute.
      read.catch(() => {
        if (this.#token === read) this.#token = undefined;
      });
      this.#token = read;
    }
    return this.#token;
  }
}

async function readMaterial(material: Material | undefined): Promise<Buffer | undefined> {
  if (material === undefined) return undefined;
  if ('data' in material) return material.data;
  try {
    return await readFile(material.file);
  } catch (error) {
    throw new Error(`cannot read ${material.file}`, { cause: error });
  }
}

async function fromKubeconfigCredentials(
  resolved: KubeconfigCredentials,
  now: () => number,
): Promise<ClusterCredentials> {
  const [ca, cert, key] = await Promise.all([resolved.ca, resolved.cert, resolved.key].map(readMaterial));
  const tls = {
    ...(ca && { ca }),
    ...(cert && { cert }),
    ...(key && { key }),
    ...(resolved.insecureSkipTlsVerify && { rejectUnauthorized: false }),
    ...(resolved.servername && { servername: resolved.servername }),
  };
  const token = resolved.token;
  const file = token && 'file' in token ? new TokenFile(token.file, now) : undefined;
  const headers = async (): Promise<Record<string, string>> => {
    const bearer = file ? await file.token() : token && 'value' in token ? token.value : undefined;
    return bearer ? { authorization: `Bearer ${bearer}` } : {};
  };
  return { server: resolved.server.replace(/\/$/, ''), tls, headers };
}

/** Credentials from a loaded @kubernetes/client-node KubeConfig, which applies them anew per request. */
export async function kubeConfigCredentials(config: KubeConfig): Promise<ClusterCredentials> {
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const options: Record<string, unknown> = {};
  await config.applyToHTTPSOptions(options);
  const tls: ClusterCredentials['tls'] = {};
  for (const key of ['ca', 'cert', 'key', 'rejectUnauthorized', 'servername'] as const) {
    if (options[key] !== undefined) Object.assign(tls, { [key]: options[key] });
  }
  const headers = async (): Promise<Record<string, string>> => {
    const applied: { headers?: Record<string, unknown> } = {};
    await config.applyToHTTPSOptions(applied);
    return Object.fromEntries(
      Object.entries(applied.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]),
    );
  };
  return { server: cluster.server.replace(/\/$/, ''), tls, headers };
}

/**
 * The kubeconfig read by @kubernetes/client-node, loaded only for what Trustline's own reader leaves to
 * it: the file at `path`, or the library's merge of a KUBECONFIG list.
 */
async function delegated(path: string | undefined): Promise<ClusterCredentials> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const config = new KubeConfig();
  if (path === undefined) config.loadFromDefault();
  else config.loadFromFile(path);
  return kubeConfigCredentials(config);
}

async function fromFile(path: string, now: () => number): Promise<ClusterCredentials> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the kubeconfig ${path}`, { cause: error });
  }
  const resolved = resolveKubeconfig(text, dirname(path));
  return resolved === 'delegate' ? delegated(path) : fromKubeconfigCredentials(resolved, now);
}

/**
 * The credentials the operator and the CLI use, looked for as client-go looks: the path given, then
 * KUBECONFIG, then the pod's ServiceAccount, then ~/.kube/config. Trustline reads kubeconfigs with
 * tokens, token files and client certificates itself; what needs more (exec plugins, merged KUBECONFIG
 * lists, proxies) loads @kubernetes/client-node, which costs a bare process about 80 MB.
 */
export async function loadCredentials(
  kubeconfig?: string,
  sources: CredentialSources = defaultSources(),
): Promise<ClusterCredentials> {
  if (kubeconfig !== undefined) return fromFile(kubeconfig, sources.now);
  const listed = (sources.env.KUBECONFIG ?? '').split(delimiter).filter((path) => path !== '');
  if (listed.length > 1) return delegated(undefined);
  if (listed[0] !== undefined) return fromFile(listed[0], sources.now);
  const host = sources.env.KUBERNETES_SERVICE_HOST;
  const port = sources.env.KUBERNETES_SERVICE_PORT;
  if (host && port) {
    const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
    return fromKubeconfigCredentials(
      {
        server,
        ca: { file: join(sources.serviceAccountDir, 'ca.crt') },
        insecureSkipTlsVerify: false,
        token: { file: join(sources.serviceAccountDir, 'token') },
      },
      sources.now,
    );
  }
  const home = join(sources.home, '.kube', 'config');
  if (existsSync(home)) return fromFile(home, sources.now);
  throw new Error('no kubeconfig: set KUBECONFIG, or run Trustline in a pod with a ServiceAccount token');
}
