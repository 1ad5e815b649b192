import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type CredentialSources, loadCredentials } from '../../src/kube/credentials.ts';

const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');

function kubeconfig(
  cluster: Record<string, unknown>,
  user: Record<string, unknown>,
  context = 'dev',
): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'dev', cluster }],
    users: [{ name: 'me', user }],
    contexts: [{ name: 'dev', context: { cluster: 'dev', user: 'me' } }],
    'current-context': context,
  });
}

async function directory(files: Record<string, string | Buffer> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'trustline-credentials-'));
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return dir;
}

function sources(overrides: Partial<CredentialSources> = {}): CredentialSources {
  return { env: {}, home: '/nonexistent', serviceAccountDir: '/nonexistent', now: () => 0, ...overrides };
}

describe('loadCredentials', () => {
  it('reads a kubeconfig with a token and an inline CA, as the test clusters write them', async () => {
    const dir = await directory({
      config: kubeconfig(
        { server: 'https://127.0.0.1:6443/', 'certificate-authority-data': CA.toString('base64') },
        { token: 's3cret' },
      ),
    });
    const credentials = await loadCredentials(
      undefined,
      sources({ env: { KUBECONFIG: join(dir, 'config') } }),
    );
    expect(credentials.server).toBe('https://127.0.0.1:6443');
    expect(credentials.tls.ca).toEqual(CA);
    expect(await credentials.headers()).toEqual({ authorization: 'Bearer s3cret' });
  });

  it('reads client certificates and a token file named relative to the kubeconfig, and skips verification only when told', async () => {
    const dir = await directory({
      'client.crt': 'CERT',
      'client.key': 'KEY',
      token: 'first\n',
      config: kubeconfig(
        {
          server: 'https://api.example:6443',
          'insecure-skip-tls-verify': true,
          'tls-server-name': 'kubernetes',
        },
        { 'client-certificate': 'client.crt', 'client-key': 'client.key', tokenFile: 'token' },
      ),
    });
    const credentials = await loadCredentials(join(dir, 'config'), sources());
    expect(credentials.tls).toEqual({
      cert: Buffer.from('CERT'),
      key: Buffer.from('KEY'),
      rejectUnauthorized: false,
      servername: 'kubernetes',
    });
    expect(await credentials.headers()).toEqual({ authorization: 'Bearer first' });
  });

  it('reads a rotated ServiceAccount token once the one it holds is a minute old, not before', async () => {
    let now = 0;
    const serviceAccountDir = await directory({ token: 'old', 'ca.crt': CA });
    const credentials = await loadCredentials(
      undefined,
      sources({
        env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
        serviceAccountDir,
        now: () => now,
      }),
    );
    expect(credentials.server).toBe('https://10.96.0.1:443');
    expect(credentials.tls.ca).toEqual(CA);
    expect(await credentials.headers()).toEqual({ authorization: 'Bearer old' });
    await writeFile(join(serviceAccountDir, 'token'), 'new');
    now = 59_000;
    expect(await credentials.headers()).toEqual({ authorization: 'Bearer old' });
    now = 60_000;
    expect(await credentials.headers()).toEqual({ authorization: 'Bearer new' });
  });

  it('puts an IPv6 service host in brackets', async () => {
    const serviceAccountDir = await directory({ token: 't', 'ca.crt': CA });
    const credentials = await loadCredentials(
      undefined,
      sources({
        env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' },
        serviceAccountDir,
      }),
    );
    expect(credentials.server).toBe('https://[fd00::1]:443');
  });

  it('prefers KUBECONFIG to the pod ServiceAccount, and the ServiceAccount to ~/.kube/config', async () => {
    const fromEnv = await directory({ config: kubeconfig({ server: 'https://from-env' }, { token: 'a' }) });
    const home = await directory();
    await mkdir(join(home, '.kube'));
    await writeFile(
      join(home, '.kube', 'config'),
      kubeconfig({ server: 'https://from-home' }, { token: 'b' }),
    );
    const serviceAccountDir = await directory({ token: 't', 'ca.crt': CA });
    const pod = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
    const load = (env: Record<string, string>) =>
      loadCredentials(undefined, sources({ env, home, serviceAccountDir }));
    expect((await load({ ...pod, KUBECONFIG: join(fromEnv, 'config') })).server).toBe('https://from-env');
    expect((await load(pod)).server).toBe('https://10.96.0.1:443');
    expect((await load({})).server).toBe('https://from-home');
  });

  it('leaves an exec plugin to @kubernetes/client-node and signs in with the token it prints', async () => {
    const credential = JSON.stringify({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: 'from-exec' },
    });
    const dir = await directory({
      config: kubeconfig(
        { server: 'https://api.example' },
        {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1',
            command: process.execPath,
            args: ['-e', `process.stdout.write(${JSON.stringify(credential)})`],
            interactiveMode: 'Never',
          },
        },
      ),
    });
    const credentials = await loadCredentials(join(dir, 'config'), sources());
    expect(credentials.server).toBe('https://api.example');
    expect(await credentials.headers()).toEqual({ authorization: 'Bearer from-exec' });
  });

  it('names what is wrong with a kubeconfig it cannot use', async () => {
    const missingContext = await directory({ config: kubeconfig({ server: 'https://a' }, {}, 'prod') });
    await expect(loadCredentials(join(missingContext, 'config'), sources())).rejects.toThrow(
      `the kubeconfig's current-context "prod" is not among its contexts`,
    );
    const missingFile = await directory({
      config: kubeconfig({ server: 'https://a', 'certificate-authority': 'gone.crt' }, {}),
    });
    await expect(loadCredentials(join(missingFile, 'config'), sources())).rejects.toThrow(
      `cannot read ${join(missingFile, 'gone.crt')}`,
    );
    await expect(loadCredentials(undefined, sources())).rejects.toThrow(
      'no kubeconfig: set KUBECONFIG, or run Trustline in a pod with a ServiceAccount token',
    );
  });

  it('never repeats the token of a kubeconfig it rejects', async () => {
    const dir = await directory({
      config: stringify({
        'current-context': 'dev',
        clusters: [{ name: 'dev', cluster: { server: 42 } }],
        users: [{ name: 'me', user: { token: 'leaked-token-value' } }],
        contexts: [{ name: 'dev', context: { cluster: 'dev', user: 'me' } }],
      }),
    });
    const error: unknown = await loadCredentials(join(dir, 'config'), sources()).catch((caught) => caught);
    expect(error).toBeInstanceOf(Error);
    expect(String(error)).toContain('the kubeconfig is not valid');
    expect(String(error)).toContain('server');
    expect(String(error)).not.toContain('leaked-token-value');
  });
});
