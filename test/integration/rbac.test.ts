import { beforeAll, describe, expect, it } from 'vitest';
import { kubectl, uniqueName, waitFor } from './support.ts';

/** `kubectl auth can-i`; a resource written `plural/sub` asks about the subresource. */
const canI = async (user: string, verb: string, resource: string, namespace?: string): Promise<string> => {
  const [plural = resource, subresource] = resource.split('/');
  const args = ['auth', 'can-i', verb, plural, `--as=${user}`];
  if (subresource) args.push(`--subresource=${subresource}`);
  if (namespace) args.push('-n', namespace);
  return (await kubectl(args)).stdout.trim();
};

/** A SubjectAccessReview, for what `kubectl auth can-i` cannot name: a signer, which holds a slash. */
const signerAllowed = async (user: string, verb: string, signerName: string): Promise<boolean> => {
  const review = {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user,
      resourceAttributes: { group: 'certificates.k8s.io', resource: 'signers', verb, name: signerName },
    },
  };
  const created = await kubectl(['create', '-o', 'json', '-f', '-'], JSON.stringify(review));
  expect(created.code, created.stderr).toBe(0);
  return JSON.parse(created.stdout).status.allowed === true;
};

describe('the RBAC Trustline ships', () => {
  const team = uniqueName('team');
  const developer = `system:serviceaccount:${team}:developer`;
  const operator = 'system:serviceaccount:trustline-system:trustline';

  beforeAll(async () => {
    for (const file of ['crds/', 'config/default/namespace.yaml', 'config/rbac/rbac.yaml']) {
      const applied = await kubectl(['apply', '-f', file]);
      expect(applied.code, applied.stderr).toBe(0);
    }
    expect((await kubectl(['create', 'namespace', team])).code).toBe(0);
    const bound = await kubectl([
      'create',
      'rolebinding',
      'developer-edit',
      '--clusterrole=edit',
      `--serviceaccount=${team}:developer`,
      '-n',
      team,
    ]);
    expect(bound.code, bound.stderr).toBe(0);
  });

  it('lets the built-in edit role manage RegistrationEntries, and never TrustDomains or KeyRevocations', async () => {
    await waitFor('the edit role to aggregate RegistrationEntries', async () =>
      (await canI(developer, 'create', 'registrationentries.trustline.dev', team)) === 'yes'
        ? true
        : undefined,
    );
    expect(await canI(developer, 'delete', 'registrationentries.trustline.dev', team)).toBe('yes');
    expect(await canI(developer, 'create', 'trustdomains.trustline.dev')).toBe('no');
    expect(await canI(developer, 'create', 'keyrevocations.trustline.dev')).toBe('no');
    expect(await canI(developer, 'patch', 'registrationentries.trustline.dev/status', team)).toBe('no');
  });

  it('gives the operator what it uses and no more', async () => {
    expect(await canI(operator, 'patch', 'trustdomains.trustline.dev/status')).toBe('yes');
    expect(await canI(operator, 'create', 'configmaps', team)).toBe('yes');
    expect(await canI(operator, 'create', 'secrets', team)).toBe('yes');
    expect(await canI(operator, 'update', 'secrets', 'trustline-system')).toBe('yes');
    // Derived objects are updated by server-side apply, a PATCH.
    expect(await canI(operator, 'patch', 'secrets', team)).toBe('yes');
    expect(await canI(operator, 'patch', 'configmaps', team)).toBe('yes');
    expect(await canI(operator, 'patch', 'clustertrustbundles.certificates.k8s.io')).toBe('yes');
    expect(await canI(operator, 'delete', 'secrets', team)).toBe('no');
    // Derived objects are written by server-side apply: patch, and no update outside the journal's namespace.
    expect(await canI(operator, 'patch', 'secrets', team)).toBe('yes');
    expect(await canI(operator, 'update', 'secrets', team)).toBe('no');
    expect(await canI(operator, 'patch', 'configmaps', team)).toBe('yes');
    expect(await canI(operator, 'update', 'configmaps', team)).toBe('no');
    expect(await canI(operator, 'patch', 'clustertrustbundles.certificates.k8s.io')).toBe('yes');
    expect(await canI(operator, 'create', 'trustdomains.trustline.dev')).toBe('no');
    expect(await canI(operator, 'delete', 'registrationentries.trustline.dev', team)).toBe('no');
    expect(await canI(operator, 'create', 'pods', team)).toBe('no');
  });

  it('lets the operator sign and attest for its own signers only, and answer PodCertificateRequests through status', async () => {
    // The apiserver checks the signer name, then its domain wildcard: Trustline holds the wildcard.
    expect(await signerAllowed(operator, 'sign', 'trustline.dev/*')).toBe(true);
    expect(await signerAllowed(operator, 'attest', 'trustline.dev/*')).toBe(true);
    expect(await signerAllowed(operator, 'sign', 'kubernetes.io/*')).toBe(false);
    expect(await signerAllowed(operator, 'approve', 'trustline.dev/*')).toBe(false);
    expect(await canI(operator, 'update', 'podcertificaterequests.certificates.k8s.io/status', team)).toBe(
      'yes',
    );
    expect(await canI(operator, 'update', 'podcertificaterequests.certificates.k8s.io', team)).toBe('no');
    expect(await canI(operator, 'create', 'podcertificaterequests.certificates.k8s.io', team)).toBe('no');
    expect(await canI(operator, 'create', 'clustertrustbundles.certificates.k8s.io')).toBe('yes');
    expect(await canI(operator, 'watch', 'pods', team)).toBe('yes');
    // The signer reads the ServiceAccount a request names, by name, and needs no list of them.
    expect(await canI(operator, 'get', 'serviceaccounts', team)).toBe('yes');
    expect(await canI(operator, 'list', 'serviceaccounts', team)).toBe('no');
  });

  it("lets the operator review scrapers' tokens and access, and the metrics-reader role read /metrics only", async () => {
    expect(await canI(operator, 'create', 'tokenreviews.authentication.k8s.io')).toBe('yes');
    expect(await canI(operator, 'create', 'subjectaccessreviews.authorization.k8s.io')).toBe('yes');
    const scraper = `system:serviceaccount:${team}:scraper`;
    // Not canI: it reads a slash as a subresource.
    const canGet = async (url: string, verb = 'get') =>
      (await kubectl(['auth', 'can-i', verb, url, `--as=${scraper}`])).stdout.trim();
    expect(await canGet('/metrics')).toBe('no');
    const bound = await kubectl([
      'create',
      'clusterrolebinding',
      `${team}-scraper`,
      '--clusterrole=trustline-metrics-reader',
      `--serviceaccount=${team}:scraper`,
    ]);
    expect(bound.code, bound.stderr).toBe(0);
    try {
      // The apiserver's authorizer learns of the binding through its own cache.
      await waitFor('the binding to reach the authorizer', async () =>
        (await canGet('/metrics')) === 'yes' ? true : undefined,
      );
      expect(await canGet('/metrics', 'post')).toBe('no');
      expect(await canGet('/logs')).toBe('no');
      expect(await canI(scraper, 'list', 'secrets', team)).toBe('no');
    } finally {
      await kubectl(['delete', 'clusterrolebinding', `${team}-scraper`]);
    }
  });
});
