import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, uniqueName } from './support.ts';

const trustDomain = (name: string, spec: string) => `apiVersion: trustline.dev/v1alpha1
kind: TrustDomain
metadata:
  name: ${name}
spec: ${spec}
`;

/** Applies a Secret-mode RegistrationEntry in default with the given spec lines. */
const applyEntry = (name: string, specLines: string) =>
  kubectl(
    ['apply', '-f', '-'],
    `apiVersion: trustline.dev/v1alpha1
kind: RegistrationEntry
metadata: {name: ${name}, namespace: default}
spec:
  trustDomainRef: {name: example}
  ${specLines}
  secret: {name: api-svid}
`,
  );

describe('the CRDs on a real apiserver', () => {
  /** Objects to remove afterwards, so operators started by later files do not serve them. */
  const cleanup: string[] = [];

  afterAll(async () => {
    if (cleanup.length > 0) await kubectl(['delete', '--ignore-not-found', ...cleanup]);
  });

  beforeAll(async () => {
    const applied = await kubectl(['apply', '-f', 'crds/']);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    const established = await kubectl([
      'wait',
      '--for=condition=established',
      'crd',
      '-l',
      'app.kubernetes.io/part-of=trustline',
      '--timeout=60s',
    ]);
    expect(established.code, established.stderr).toBe(0);
  });

  it('accepts a valid TrustDomain, fills in its defaults, and lists it with its trust domain', async () => {
    const name = uniqueName('valid');
    cleanup.push(`trustdomain/${name}`);
    const created = await kubectl(['apply', '-f', '-'], trustDomain(name, '{trustDomain: prod.example.org}'));
    expect(created.code, created.stderr).toBe(0);

    const spec = JSON.parse((await kubectl(['get', 'trustdomain', name, '-o', 'jsonpath={.spec}'])).stdout);
    expect(spec).toMatchObject({
      trustDomain: 'prod.example.org',
      ca: { keyType: 'EC-P256', ttl: '24h' },
      jwt: { algorithm: 'ES256', ttl: '24h' },
      svid: { x509TTL: '1h', jwtTTL: '30m' },
    });

    const listed = await kubectl(['get', 'trustdomains']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/NAME\s+TRUST DOMAIN\s+READY\s+REASON\s+EXPIRES\s+AGE/);
    expect(listed.stdout).toMatch(new RegExp(`${name}\\s+prod\\.example\\.org`));
    const byShortName = await kubectl(['get', 'td', name, '-o', 'name']);
    expect(byShortName.stdout.trim()).toBe(`trustdomain.trustline.dev/${name}`);
  });

  it.each([
    ['upper case', '{trustDomain: Example.org}', 'spec.trustDomain', 'must be lower case'],
    ['a scheme', '{trustDomain: "spiffe://example.org"}', 'spec.trustDomain', 'without a scheme'],
    ['a port', '{trustDomain: "example.org:8443"}', 'spec.trustDomain', 'must not include a port'],
    ['a path', '{trustDomain: example.org/workloads}', 'spec.trustDomain', 'must not include a path'],
    ['a space', '{trustDomain: "exa mple.org"}', 'spec.trustDomain', 'may only contain lower case letters'],
    [
      'a negative duration',
      '{trustDomain: example.org, ca: {ttl: "-24h"}}',
      'spec.ca.ttl',
      'must be at least 1m',
    ],
    [
      'an unparsable duration',
      '{trustDomain: example.org, svid: {x509TTL: "one hour"}}',
      'spec.svid.x509TTL',
      'must be a duration such as 90m or 24h',
    ],
    [
      'a duration too long',
      '{trustDomain: example.org, svid: {jwtTTL: 48h}}',
      'spec.svid.jwtTTL',
      'must be at most 24h',
    ],
    [
      'an unknown key type',
      '{trustDomain: example.org, ca: {keyType: DSA-1024}}',
      'spec.ca.keyType',
      'Unsupported value: "DSA-1024"',
    ],
    [
      'OIDC discovery but no issuer',
      '{trustDomain: example.org, oidc: {configMapName: oidc, namespace: default}}',
      'spec',
      'oidc needs jwt.issuer: the discovery document names the issuer',
    ],
    [
      'an unknown JWT algorithm',
      '{trustDomain: example.org, jwt: {algorithm: HS256}}',
      'spec.jwt.algorithm',
      'Unsupported value: "HS256"',
    ],
    [
      'an issuer with a query',
      '{trustDomain: example.org, jwt: {issuer: "https://oidc.example.org/?tenant=a"}}',
      'spec.jwt.issuer',
      'must have no query (?) or fragment (#)',
    ],
    [
      'an issuer with a fragment',
      '{trustDomain: example.org, jwt: {issuer: "https://oidc.example.org/#a"}}',
      'spec.jwt.issuer',
      'must have no query (?) or fragment (#)',
    ],
    [
      'a grant prefix of //',
      '{trustDomain: example.org, grants: [{namespaceSelector: {}, spiffeIDPathPrefixes: ["//"]}]}',
      'spec.grants[0].spiffeIDPathPrefixes[0]',
      'must not contain an empty path segment (//)',
    ],
    [
      'a relative grant prefix',
      '{trustDomain: example.org, grants: [{namespaceSelector: {}, spiffeIDPathPrefixes: [ns/shop]}]}',
      'spec.grants[0].spiffeIDPathPrefixes[0]',
      'must start with /',
    ],
    [
      'a grant DNS label over 63 characters',
      `{trustDomain: example.org, grants: [{namespaceSelector: {}, dnsNames: ["*.${'a'.repeat(64)}.example.org"]}]}`,
      'spec.grants[0].dnsNames[0]',
      'each DNS label (the text between dots) must be at most 63 characters',
    ],
  ])('refuses a TrustDomain with %s, naming the field', async (_, spec, field, message) => {
    const name = uniqueName('invalid');
    const result = await kubectl(['apply', '-f', '-'], trustDomain(name, spec));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`${field}: `);
    expect(result.stderr).toContain(message);
    const lookup = await kubectl(['get', 'trustdomain', name]);
    expect(lookup.stderr).toContain('NotFound');
  });

  it('refuses any edit to a KeyRevocation spec', async () => {
    const name = uniqueName('revocation');
    cleanup.push(`keyrevocation/${name}`);
    const manifest = (reason: string) => `apiVersion: trustline.dev/v1alpha1
kind: KeyRevocation
metadata:
  name: ${name}
spec:
  trustDomainRef: {name: example}
  authority: {kind: JWT, id: kid-1}
  reason: ${reason}
`;
    const created = await kubectl(['apply', '-f', '-'], manifest('Superseded'));
    expect(created.code, created.stderr).toBe(0);

    const edited = await kubectl(['apply', '-f', '-'], manifest('KeyCompromise'));
    expect(edited.code).not.toBe(0);
    expect(edited.stderr).toContain('spec: Invalid value');
    expect(edited.stderr).toContain('spec is immutable');
    const patched = await kubectl([
      'patch',
      'keyrevocation',
      name,
      '--type=merge',
      '-p',
      '{"spec":{"gracePeriod":"5m"}}',
    ]);
    expect(patched.code).not.toBe(0);
    expect(patched.stderr).toContain('spec is immutable');
    const reason = await kubectl(['get', 'keyrevocation', name, '-o', 'jsonpath={.spec.reason}']);
    expect(reason.stdout).toBe('Superseded');
  });

  it('refuses a change of spec.trustDomain, whose journal of keys belongs to the name', async () => {
    const name = uniqueName('renamed');
    cleanup.push(`trustdomain/${name}`);
    const created = await kubectl(
      ['apply', '-f', '-'],
      trustDomain(name, '{trustDomain: before.example.org}'),
    );
    expect(created.code, created.stderr).toBe(0);
    const renamed = await kubectl(
      ['apply', '-f', '-'],
      trustDomain(name, '{trustDomain: after.example.org}'),
    );
    expect(renamed.code).not.toBe(0);
    expect(renamed.stderr).toContain('spec.trustDomain: Invalid value');
    expect(renamed.stderr).toContain('is immutable');
  });

  it('refuses a JWT-SVID that would take the key of an X.509-SVID file', async () => {
    const result = await kubectl(
      ['apply', '-f', '-'],
      `apiVersion: trustline.dev/v1alpha1
kind: RegistrationEntry
metadata: {name: ${uniqueName('reserved')}, namespace: default}
spec:
  trustDomainRef: {name: example}
  spiffeIDPath: /ns/default/api
  jwtSVIDs: [{key: tls.key, audiences: [api]}]
  secret: {name: api-svid}
`,
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('spec.jwtSVIDs[0].key');
    expect(result.stderr).toContain('must not be one of the X.509-SVID files');
  });

  it('refuses a RegistrationEntry whose SPIFFE ID path has an empty segment, naming the field', async () => {
    const result = await applyEntry(uniqueName('entry'), 'spiffeIDPath: /ns/default//api');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('spec.spiffeIDPath: ');
    expect(result.stderr).toContain('must not contain an empty path segment');
  });

  it('refuses a RegistrationEntry DNS name with a label over 63 characters, naming the field', async () => {
    const name = uniqueName('entry');
    const result = await applyEntry(
      name,
      `spiffeIDPath: /ns/default/api\n  dnsNames: [${'a'.repeat(64)}.default.svc]`,
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('spec.dnsNames[0]: ');
    expect(result.stderr).toContain('each DNS label (the text between dots) must be at most 63 characters');
    const lookup = await kubectl(['get', 'registrationentry', name, '-n', 'default']);
    expect(lookup.stderr).toContain('NotFound');
  });
});
