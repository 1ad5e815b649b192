import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { keyRevocationSpecSchema } from '../../src/api/keyrevocation.ts';
import { registrationEntrySpecSchema, spiffeIDPathSchema } from '../../src/api/registrationentry.ts';
import { trustDomainSchema, trustDomainSpecSchema } from '../../src/api/trustdomain.ts';
import { describeIssues } from '../../src/api/validation.ts';

/** The issues of a parse that must fail, as path + message pairs. */
function issuesOf(schema: z.ZodType, input: unknown): { path: string; message: string }[] {
  const result = schema.safeParse(input);
  if (result.success) throw new Error(`expected ${JSON.stringify(input)} to be refused`);
  return result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
}

function parsed<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new Error(`expected success, got: ${describeIssues(result.error)}`);
  return result.data;
}

describe('TrustDomain spec', () => {
  it('parses a minimal spec and fills in the defaults', () => {
    const spec = parsed(trustDomainSpecSchema, { trustDomain: 'example.org' });
    expect(spec.trustDomain).toBe('example.org');
    expect(spec.ca).toEqual({ keyType: 'EC-P256', ttl: '24h', uriNameConstraint: false });
    expect(spec.jwt).toEqual({ algorithm: 'ES256', ttl: '24h' });
    expect(spec.svid).toEqual({ x509TTL: '1h', minX509TTL: '10s', jwtTTL: '30m', renewalPercentage: 50 });
    expect(spec.bundle).toEqual({});
    expect(spec.upstream).toBeUndefined();
    expect(spec.oidc).toBeUndefined();
    expect(spec.grants).toBeUndefined();
  });

  it('keeps values that are given instead of the defaults', () => {
    const spec = parsed(trustDomainSpecSchema, {
      trustDomain: 'prod.example-corp.io',
      ca: { keyType: 'RSA-3072', ttl: '48h' },
      jwt: { algorithm: 'PS256', issuer: 'https://oidc.example.org' },
      svid: { x509TTL: '10m', jwtTTL: '24h' },
    });
    expect(spec.ca).toEqual({ keyType: 'RSA-3072', ttl: '48h', uriNameConstraint: false });
    expect(spec.jwt).toEqual({ algorithm: 'PS256', ttl: '24h', issuer: 'https://oidc.example.org' });
    expect(spec.svid).toEqual({ x509TTL: '10m', minX509TTL: '10s', jwtTTL: '24h', renewalPercentage: 50 });
  });

  it.each(['example.org', 'a', 'my_domain-1.example.org', '0.0.0.0'])(
    'accepts the trust domain %j',
    (name) => {
      expect(trustDomainSpecSchema.safeParse({ trustDomain: name }).success).toBe(true);
    },
  );

  it.each([
    ['Example.org', 'must be lower case'],
    [
      'spiffe://example.org',
      'must be a bare trust domain name without a scheme: write example.org, not spiffe://example.org',
    ],
    ['example.org:443', 'must not include a port'],
    ['example.org/path', 'must not include a path'],
    ['ex ample', "may only contain lower case letters, digits, '.', '-' and '_'"],
    ['ex@mple.org', "may only contain lower case letters, digits, '.', '-' and '_'"],
  ])('refuses the trust domain %j with exactly one issue: %j', (name, message) => {
    expect(issuesOf(trustDomainSpecSchema, { trustDomain: name })).toEqual([
      { path: 'trustDomain', message },
    ]);
  });

  it('names the scheme rule with its full message prefix', () => {
    const [issue, ...rest] = issuesOf(trustDomainSpecSchema, { trustDomain: 'spiffe://example.org' });
    expect(rest).toEqual([]);
    expect(issue?.message.startsWith('must be a bare trust domain name without a scheme')).toBe(true);
  });

  it('refuses an empty trust domain', () => {
    const issues = issuesOf(trustDomainSpecSchema, { trustDomain: '' });
    expect(issues.length).toBeGreaterThan(0);
    expect(issues.every((issue) => issue.path === 'trustDomain')).toBe(true);
  });

  it.each([
    ['-5h', 'must be at least 1m'],
    ['59s', 'must be at least 1m'],
    ['0', 'must be at least 1m'],
    ['87601h', 'must be at most 87600h'],
    ['five hours', 'must be a duration such as 90m or 24h (units: h, m, s, ms)'],
    ['1d', 'must be a duration such as 90m or 24h (units: h, m, s, ms)'],
  ])('refuses ca.ttl %j with exactly one issue: %j', (ttl, message) => {
    expect(issuesOf(trustDomainSpecSchema, { trustDomain: 'example.org', ca: { ttl } })).toEqual([
      { path: 'ca.ttl', message },
    ]);
  });

  it.each(['1m', '60s', '87600h', '1.5h'])('accepts ca.ttl %j at or within the bounds', (ttl) => {
    expect(parsed(trustDomainSpecSchema, { trustDomain: 'example.org', ca: { ttl } }).ca.ttl).toBe(ttl);
  });

  it('applies the SVID bounds to svid.x509TTL and svid.jwtTTL', () => {
    expect(
      issuesOf(trustDomainSpecSchema, { trustDomain: 'example.org', svid: { x509TTL: '9s', jwtTTL: '25h' } }),
    ).toEqual([
      { path: 'svid.x509TTL', message: 'must be at least 10s' },
      { path: 'svid.jwtTTL', message: 'must be at most 24h' },
    ]);
  });

  it('refuses an unknown ca.keyType', () => {
    const issues = issuesOf(trustDomainSpecSchema, {
      trustDomain: 'example.org',
      ca: { keyType: 'EC-P521' },
    });
    expect(issues.map((issue) => issue.path)).toEqual(['ca.keyType']);
  });

  it('refuses a jwt.issuer that is not https', () => {
    expect(
      issuesOf(trustDomainSpecSchema, { trustDomain: 'example.org', jwt: { issuer: 'http://example.org' } }),
    ).toEqual([{ path: 'jwt.issuer', message: 'must be an https URL' }]);
  });

  it.each([
    ['https://oidc.example.org/?tenant=a', 'a query'],
    ['https://oidc.example.org/#frag', 'a fragment'],
  ])('refuses the jwt.issuer %j with %s', (issuer) => {
    expect(issuesOf(trustDomainSpecSchema, { trustDomain: 'example.org', jwt: { issuer } })).toEqual([
      {
        path: 'jwt.issuer',
        message: 'must have no query (?) or fragment (#): an OIDC issuer is a scheme, host and optional path',
      },
    ]);
  });

  it('accepts a jwt.issuer with a path', () => {
    const issuer = 'https://oidc.example.org/tenants/a';
    expect(parsed(trustDomainSpecSchema, { trustDomain: 'example.org', jwt: { issuer } }).jwt.issuer).toBe(
      issuer,
    );
  });

  it.each([
    ['ns/shop', 'must start with /'],
    ['//', 'must not contain an empty path segment (//)'],
    ['/ns//shop', 'must not contain an empty path segment (//)'],
  ])('refuses the grant spiffeIDPathPrefix %j: %s', (prefix, message) => {
    const grants = [{ namespaceSelector: {}, spiffeIDPathPrefixes: [prefix] }];
    expect(issuesOf(trustDomainSpecSchema, { trustDomain: 'example.org', grants })).toEqual([
      { path: 'grants.0.spiffeIDPathPrefixes.0', message },
    ]);
  });

  it('accepts grant prefixes that are absolute paths, and DNS labels of 63 characters', () => {
    const grants = [
      {
        namespaceSelector: {},
        spiffeIDPathPrefixes: ['/', '/shared/db'],
        dnsNames: [`*.${'a'.repeat(63)}.example.org`],
      },
    ];
    expect(parsed(trustDomainSpecSchema, { trustDomain: 'example.org', grants }).grants).toEqual(grants);
  });

  it('refuses a grant DNS name with a label of 64 characters', () => {
    const grants = [{ namespaceSelector: {}, dnsNames: [`*.${'a'.repeat(64)}.example.org`] }];
    expect(issuesOf(trustDomainSpecSchema, { trustDomain: 'example.org', grants })).toEqual([
      {
        path: 'grants.0.dnsNames.0',
        message: 'each DNS label (the text between dots) must be at most 63 characters',
      },
    ]);
  });

  it('takes the SVID limits, and refuses an unknown allowed key type', () => {
    const svid = { maxX509TTL: '2h', minX509TTL: '5m', allowedKeyTypes: ['EC-P256', 'EC-P384'] };
    expect(parsed(trustDomainSpecSchema, { trustDomain: 'example.org', svid }).svid).toMatchObject(svid);
    const issues = issuesOf(trustDomainSpecSchema, {
      trustDomain: 'example.org',
      svid: { allowedKeyTypes: ['EC-P521'], minX509TTL: '5s' },
    });
    expect(issues.map((issue) => issue.path)).toEqual(['svid.minX509TTL', 'svid.allowedKeyTypes.0']);
  });

  it('describeIssues names the path of each failing field', () => {
    const result = trustDomainSpecSchema.safeParse({ trustDomain: 'example.org', ca: { ttl: '30s' } });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(describeIssues(result.error)).toBe('ca.ttl: must be at least 1m');
  });

  it('describeIssues joins several issues with "; "', () => {
    const result = trustDomainSpecSchema.safeParse({
      trustDomain: 'Example.org',
      svid: { jwtTTL: '5m' },
    });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(describeIssues(result.error)).toBe(
      'trustDomain: must be lower case; svid.jwtTTL: must be at least 10m',
    );
  });

  it('describeIssues calls an issue at the root <object>', () => {
    const result = spiffeIDPathSchema.safeParse('ns/a');
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(describeIssues(result.error)).toBe('<object>: must start with /');
  });
});

describe('TrustDomain object', () => {
  const object = {
    apiVersion: 'trustline.dev/v1alpha1',
    kind: 'TrustDomain',
    metadata: { name: 'example', uid: 'u-1', generation: 3, extra: 'kept' },
    spec: { trustDomain: 'example.org' },
  };

  it('parses a whole object, applying spec defaults and keeping unknown metadata', () => {
    const trustDomain = parsed(trustDomainSchema, object);
    expect(trustDomain.metadata).toEqual({ name: 'example', uid: 'u-1', generation: 3, extra: 'kept' });
    expect(trustDomain.spec.ca.keyType).toBe('EC-P256');
    expect(trustDomain.spec.svid.jwtTTL).toBe('30m');
    expect(trustDomain.status).toBeUndefined();
  });

  it('refuses the wrong apiVersion or kind', () => {
    expect(
      issuesOf(trustDomainSchema, { ...object, apiVersion: 'trustline.dev/v1' }).map((i) => i.path),
    ).toEqual(['apiVersion']);
    expect(issuesOf(trustDomainSchema, { ...object, kind: 'KeyRevocation' }).map((i) => i.path)).toEqual([
      'kind',
    ]);
  });

  it('reports spec issues under the spec path', () => {
    expect(issuesOf(trustDomainSchema, { ...object, spec: { trustDomain: 'example.org:443' } })).toEqual([
      { path: 'spec.trustDomain', message: 'must not include a port' },
    ]);
  });
});

describe('SPIFFE ID path', () => {
  it.each(['/ns/shop/sa/cart', '/a', '/a/.hidden', '/a/..b', '/a/b.', '/A-Z_0-9/x.y'])(
    'accepts %j',
    (path) => {
      expect(spiffeIDPathSchema.safeParse(path)).toEqual({ success: true, data: path });
    },
  );

  it.each([
    ['ns/a', 'must start with /'],
    ['/a/', 'must not end with /'],
    ['/a//b', 'must not contain an empty path segment'],
    ['/a/./b', "must not contain a '.' or '..' path segment"],
    ['/a/..', "must not contain a '.' or '..' path segment"],
    ['/./a', "must not contain a '.' or '..' path segment"],
    [
      '/a/b c',
      "path segments may only contain letters, digits, '.', '-', '_' and the placeholders {namespace}, {serviceAccount}, {podName}",
    ],
    [
      '/a/%41',
      "path segments may only contain letters, digits, '.', '-', '_' and the placeholders {namespace}, {serviceAccount}, {podName}",
    ],
  ])('refuses %j with exactly one issue: %j', (path, message) => {
    expect(issuesOf(spiffeIDPathSchema, path)).toEqual([{ path: '', message }]);
  });

  it('reports every rule that fails', () => {
    expect(issuesOf(spiffeIDPathSchema, 'a b/').map((issue) => issue.message)).toEqual([
      'must start with /',
      'must not end with /',
      "path segments may only contain letters, digits, '.', '-', '_' and the placeholders {namespace}, {serviceAccount}, {podName}",
    ]);
  });
});

describe('RegistrationEntry spec', () => {
  const minimal = {
    trustDomainRef: { name: 'example' },
    spiffeIDPath: '/ns/shop/sa/cart',
    secret: { name: 'cart-svid' },
  };

  it('parses a minimal spec', () => {
    expect(parsed(registrationEntrySpecSchema, minimal)).toEqual({ ...minimal, x509: {} });
  });

  it('reports a bad SPIFFE ID path under spiffeIDPath', () => {
    expect(issuesOf(registrationEntrySpecSchema, { ...minimal, spiffeIDPath: '/a//b' })).toEqual([
      { path: 'spiffeIDPath', message: 'must not contain an empty path segment' },
    ]);
  });

  it('checks DNS names, JWT-SVID keys and TTLs', () => {
    expect(
      issuesOf(registrationEntrySpecSchema, {
        ...minimal,
        dnsNames: ['cart.shop.svc', 'Cart.shop'],
        x509: { ttl: '5s' },
        jwtSVIDs: [{ key: 'token/jwt', audiences: ['api'], ttl: '25h' }],
      }),
    ).toEqual([
      { path: 'dnsNames.1', message: 'must be a lower case DNS name' },
      { path: 'x509.ttl', message: 'must be at least 10s' },
      { path: 'jwtSVIDs.0.key', message: "must consist of letters, digits, '-', '_' or '.'" },
      { path: 'jwtSVIDs.0.ttl', message: 'must be at most 24h' },
    ]);
  });

  it('bounds the labels and annotations asked for on the Secret', () => {
    const longKey = `${'a'.repeat(300)}/${'b'.repeat(20)}`;
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`key-${i}`, 'v']));
    expect(
      issuesOf(registrationEntrySpecSchema, {
        ...minimal,
        secret: {
          name: 'cart-svid',
          labels: { ...many, [longKey]: 'x'.repeat(64) },
          annotations: { note: 'x'.repeat(4097) },
        },
      }),
    ).toEqual([
      {
        path: `secret.labels.${longKey}`,
        message: 'label values must be at most 63 characters',
      },
      { path: 'secret.labels', message: 'may hold at most 64 labels' },
      { path: 'secret.labels', message: 'label keys must be at most 317 characters' },
      { path: 'secret.annotations.note', message: 'annotation values must be at most 4096 characters' },
    ]);
    const fits = Object.fromEntries(
      Array.from({ length: 64 }, (_, i) => [`example.org/key-${i}`, 'v'.repeat(63)]),
    );
    expect(
      parsed(registrationEntrySpecSchema, { ...minimal, secret: { name: 'cart-svid', labels: fits } }).secret
        ?.labels,
    ).toEqual(fits);
  });
});

describe('RegistrationEntry dnsNames', () => {
  const entry = (dnsNames: string[]) => ({
    trustDomainRef: { name: 'example' },
    spiffeIDPath: '/ns/shop/sa/cart',
    secret: { name: 'cart-svid' },
    dnsNames,
  });

  it('accepts a label of 63 characters', () => {
    const name = `${'a'.repeat(63)}.shop.svc`;
    expect(parsed(registrationEntrySpecSchema, entry([name])).dnsNames).toEqual([name]);
  });

  it('refuses a label of 64 characters, even in a name under 253', () => {
    expect(issuesOf(registrationEntrySpecSchema, entry([`${'a'.repeat(64)}.shop.svc`]))).toEqual([
      { path: 'dnsNames.0', message: 'each DNS label (the text between dots) must be at most 63 characters' },
    ]);
  });
});

describe('KeyRevocation spec', () => {
  const valid = {
    trustDomainRef: { name: 'example' },
    authority: { kind: 'X509', id: '3f2a9c' },
    reason: 'KeyCompromise',
  };

  it('parses a valid spec, leaving gracePeriod unset', () => {
    expect(parsed(keyRevocationSpecSchema, valid)).toEqual(valid);
  });

  it.each(['X509', 'UpstreamX509', 'JWT'])('accepts authority.kind %j', (kind) => {
    expect(keyRevocationSpecSchema.safeParse({ ...valid, authority: { kind, id: 'k1' } }).success).toBe(true);
  });

  it('refuses authority.kind RSA', () => {
    const issues = issuesOf(keyRevocationSpecSchema, { ...valid, authority: { kind: 'RSA', id: 'k1' } });
    expect(issues.map((issue) => issue.path)).toEqual(['authority.kind']);
  });

  it('refuses an unknown reason and an empty authority id', () => {
    const issues = issuesOf(keyRevocationSpecSchema, {
      ...valid,
      authority: { kind: 'JWT', id: '' },
      reason: 'Bored',
    });
    expect(issues.map((issue) => issue.path)).toEqual(['authority.id', 'reason']);
  });

  it.each(['0s', '0', '2m', '168h'])('accepts gracePeriod %j', (gracePeriod) => {
    expect(parsed(keyRevocationSpecSchema, { ...valid, gracePeriod }).gracePeriod).toBe(gracePeriod);
  });

  it.each([
    ['169h', 'must be at most 168h'],
    ['-1s', 'must be at least 0s'],
    ['2 minutes', 'must be a duration such as 90m or 24h (units: h, m, s, ms)'],
  ])('refuses gracePeriod %j with %j', (gracePeriod, message) => {
    expect(issuesOf(keyRevocationSpecSchema, { ...valid, gracePeriod })).toEqual([
      { path: 'gracePeriod', message },
    ]);
  });
});
