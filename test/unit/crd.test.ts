import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildCrd, crdName, openApiSchemaOf, toStructural } from '../../src/api/crd.ts';
import { keyRevocationKind } from '../../src/api/keyrevocation.ts';
import { allKinds } from '../../src/api/kinds.ts';
import { registrationEntryKind } from '../../src/api/registrationentry.ts';
import { trustDomainKind } from '../../src/api/trustdomain.ts';

type JsonSchema = { [key: string]: unknown };

const isObject = (value: unknown): value is JsonSchema =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Follows a chain of keys through nested objects, failing the test with the path if one is missing. */
function at(value: unknown, ...keys: string[]): unknown {
  let current = value;
  for (const [index, key] of keys.entries()) {
    if (!isObject(current)) throw new Error(`no object at ${keys.slice(0, index).join('.')}`);
    current = current[key];
  }
  return current;
}

function schemaOf(crd: ReturnType<typeof buildCrd>): JsonSchema {
  const [version, ...others] = crd.spec.versions;
  expect(others).toEqual([]);
  if (!version) throw new Error('no version');
  return version.schema.openAPIV3Schema;
}

const FORBIDDEN_KEYS = ['anyOf', 'oneOf', 'allOf', 'not', '$ref', '$schema'];

/** Every problem that makes a node (or a node below it) not a Kubernetes structural schema. */
function structuralProblems(node: unknown, path: string): string[] {
  if (!isObject(node)) return [`${path}: not an object`];
  const problems: string[] = [];
  if (typeof node.type !== 'string') problems.push(`${path}: no string type`);
  for (const key of FORBIDDEN_KEYS) {
    if (key in node) problems.push(`${path}: has ${key}`);
  }
  if (node.additionalProperties === false) problems.push(`${path}: additionalProperties: false`);
  if ('pattern' in node && 'format' in node) problems.push(`${path}: pattern next to format`);
  if (node.properties !== undefined) {
    if (!isObject(node.properties)) problems.push(`${path}: properties is not an object`);
    else {
      for (const [name, child] of Object.entries(node.properties)) {
        problems.push(...structuralProblems(child, `${path}.${name}`));
      }
    }
  }
  if (node.items !== undefined) problems.push(...structuralProblems(node.items, `${path}[]`));
  if (isObject(node.additionalProperties)) {
    problems.push(...structuralProblems(node.additionalProperties, `${path}{}`));
  }
  return problems;
}

/** Every place, at any depth and in any value, a forbidden key appears. */
function forbiddenKeysAnywhere(value: unknown, path = ''): string[] {
  if (Array.isArray(value))
    return value.flatMap((item, index) => forbiddenKeysAnywhere(item, `${path}[${index}]`));
  if (!isObject(value)) return [];
  return Object.entries(value).flatMap(([key, child]) => [
    ...(FORBIDDEN_KEYS.includes(key) ? [`${path}.${key}`] : []),
    ...forbiddenKeysAnywhere(child, `${path}.${key}`),
  ]);
}

describe('allKinds', () => {
  it('lists the three kinds in order', () => {
    expect(allKinds.map((kind) => kind.kind)).toEqual(['TrustDomain', 'RegistrationEntry', 'KeyRevocation']);
  });
});

describe.each(allKinds.map((kind) => [kind.kind, kind] as const))('the %s CRD', (_, kind) => {
  const crd = buildCrd(kind);

  it('is an apiextensions.k8s.io/v1 CRD in trustline.dev named <plural>.<group>', () => {
    expect(crd.apiVersion).toBe('apiextensions.k8s.io/v1');
    expect(crd.kind).toBe('CustomResourceDefinition');
    expect(crd.metadata.name).toBe(`${kind.plural}.trustline.dev`);
    expect(crdName(kind)).toBe(`${kind.plural}.trustline.dev`);
    expect(crd.spec.group).toBe('trustline.dev');
    expect(crd.spec.names).toEqual({
      kind: kind.kind,
      listKind: `${kind.kind}List`,
      plural: kind.plural,
      singular: kind.singular,
      shortNames: kind.shortNames,
      categories: ['trustline'],
    });
    expect(crd.spec.names.shortNames.length).toBeGreaterThan(0);
  });

  it('serves and stores exactly v1alpha1 with the status subresource', () => {
    expect(crd.spec.versions).toHaveLength(1);
    const [version] = crd.spec.versions;
    expect(version?.name).toBe('v1alpha1');
    expect(version?.served).toBe(true);
    expect(version?.storage).toBe(true);
    expect(version?.subresources).toEqual({ status: {} });
  });

  it('has Ready and Age printer columns', () => {
    const columns = crd.spec.versions[0]?.additionalPrinterColumns ?? [];
    const names = columns.map((column) => column.name);
    expect(names).toContain('Ready');
    expect(names).toContain('Age');
    expect(columns.find((column) => column.name === 'Age')).toEqual({
      name: 'Age',
      type: 'date',
      jsonPath: '.metadata.creationTimestamp',
    });
    expect(columns.find((column) => column.name === 'Ready')?.jsonPath).toBe(
      '.status.conditions[?(@.type=="Ready")].status',
    );
  });

  it('has a root schema requiring spec, with spec and status objects', () => {
    const schema = schemaOf(crd);
    expect(schema.type).toBe('object');
    expect(schema.required).toEqual(['spec']);
    expect(Object.keys(at(schema, 'properties') as JsonSchema)).toEqual([
      'apiVersion',
      'kind',
      'metadata',
      'spec',
      'status',
    ]);
    expect(at(schema, 'properties', 'spec', 'type')).toBe('object');
    expect(at(schema, 'properties', 'status', 'type')).toBe('object');
  });

  it('has a structural openAPIV3Schema', () => {
    expect(structuralProblems(schemaOf(crd), '')).toEqual([]);
    expect(forbiddenKeysAnywhere(schemaOf(crd))).toEqual([]);
  });

  it('drops the safe-integer bounds zod emits for ints', () => {
    const generation = at(schemaOf(crd), 'properties', 'status', 'properties', 'observedGeneration');
    expect(generation).toEqual({ type: 'integer', minimum: 0 });
  });
});

describe('CRD scopes and short names', () => {
  it.each([
    [trustDomainKind, 'Cluster', ['td']],
    [registrationEntryKind, 'Namespaced', ['re', 'entry']],
    [keyRevocationKind, 'Cluster', ['krev']],
  ] as const)('%#: scope and short names', (kind, scope, shortNames) => {
    const crd = buildCrd(kind);
    expect(crd.spec.scope).toBe(scope);
    expect(crd.spec.names.shortNames).toEqual(shortNames);
  });
});

describe('CRD validations and defaults', () => {
  const trustDomainSpec = at(schemaOf(buildCrd(trustDomainKind)), 'properties', 'spec');

  it('carries the five trust domain name rules and immutability, in order, on spec.trustDomain', () => {
    const validations = at(trustDomainSpec, 'properties', 'trustDomain', 'x-kubernetes-validations');
    expect(Array.isArray(validations)).toBe(true);
    if (!Array.isArray(validations)) return;
    expect(validations.map((validation) => at(validation, 'message'))).toEqual([
      'must be a bare trust domain name without a scheme: write example.org, not spiffe://example.org',
      'must not include a port',
      'must not include a path',
      'must be lower case',
      "may only contain lower case letters, digits, '.', '-' and '_'",
      'is immutable: the journal of keys belongs to the trust domain name; create a new TrustDomain for another name',
    ]);
    expect(validations[5]).toMatchObject({ rule: 'self == oldSelf' });
    expect(validations[3]).toEqual({ rule: 'self == self.lowerAscii()', message: 'must be lower case' });
  });

  it('carries the duration rules, guarded by the parse rule, on spec.ca.ttl', () => {
    const validations = at(
      trustDomainSpec,
      'properties',
      'ca',
      'properties',
      'ttl',
      'x-kubernetes-validations',
    );
    expect(Array.isArray(validations)).toBe(true);
    if (!Array.isArray(validations)) return;
    expect(validations.map((validation) => at(validation, 'message'))).toEqual([
      'must be a duration such as 90m or 24h (units: h, m, s, ms)',
      'must be at least 1m',
      'must be at most 87600h',
    ]);
    const [parses, atLeast] = validations.map((validation) => String(at(validation, 'rule')));
    expect(parses?.startsWith("self.matches('^[-+]?")).toBe(true);
    expect(atLeast).toBe(`!${parses} || duration(self) >= duration('1m')`);
  });

  it('puts the defaults into the schema', () => {
    expect(at(trustDomainSpec, 'properties', 'ca', 'default')).toEqual({});
    expect(at(trustDomainSpec, 'properties', 'ca', 'properties', 'keyType', 'default')).toBe('EC-P256');
    expect(at(trustDomainSpec, 'properties', 'ca', 'properties', 'ttl', 'default')).toBe('24h');
    expect(at(trustDomainSpec, 'properties', 'jwt', 'default')).toEqual({});
    expect(at(trustDomainSpec, 'properties', 'jwt', 'properties', 'algorithm', 'default')).toBe('ES256');
    expect(at(trustDomainSpec, 'properties', 'svid', 'properties', 'x509TTL', 'default')).toBe('1h');
    expect(at(trustDomainSpec, 'properties', 'svid', 'properties', 'jwtTTL', 'default')).toBe('30m');
  });

  it('makes the KeyRevocation spec immutable with self == oldSelf', () => {
    const spec = at(schemaOf(buildCrd(keyRevocationKind)), 'properties', 'spec');
    expect(at(spec, 'x-kubernetes-validations')).toEqual([
      { rule: 'self == oldSelf', message: 'spec is immutable: create a new KeyRevocation instead' },
    ]);
  });

  it('marks the conditions list as a map keyed by type', () => {
    const conditions = at(
      schemaOf(buildCrd(registrationEntryKind)),
      'properties',
      'status',
      'properties',
      'conditions',
    );
    expect(at(conditions, 'x-kubernetes-list-type')).toBe('map');
    expect(at(conditions, 'x-kubernetes-list-map-keys')).toEqual(['type']);
  });
});

describe('openApiSchemaOf', () => {
  it('drops $schema, additionalProperties: false and formats the apiserver does not know', () => {
    const schema = openApiSchemaOf(z.object({ id: z.string().regex(/^[a-z]+$/), at: z.iso.datetime() }));
    expect(forbiddenKeysAnywhere(schema)).toEqual([]);
    expect(schema.additionalProperties).toBeUndefined();
    expect(at(schema, 'properties', 'id')).toEqual({ type: 'string', pattern: '^[a-z]+$' });
    expect(at(schema, 'properties', 'at', 'type')).toBe('string');
    expect(at(schema, 'properties', 'at', 'format')).toBeUndefined();
  });

  it('drops a pattern next to a format the apiserver knows', () => {
    const schema = openApiSchemaOf(z.object({ id: z.uuid() }));
    expect(at(schema, 'properties', 'id', 'format')).toBe('uuid');
    expect(at(schema, 'properties', 'id', 'pattern')).toBeUndefined();
  });

  it('refuses a union, which a structural schema cannot express', () => {
    expect(() => openApiSchemaOf(z.object({ v: z.union([z.string(), z.number()]) }))).toThrow(
      '.v: anyOf cannot be expressed in a CRD schema',
    );
  });
});

describe('toStructural', () => {
  it('throws naming the path of a node with anyOf', () => {
    expect(() =>
      toStructural({ type: 'object', properties: { a: { anyOf: [{ type: 'string' }] } } }),
    ).toThrow('.a: anyOf cannot be expressed in a CRD schema');
  });

  it.each(['oneOf', 'allOf', 'not', '$ref'])('throws for %s', (key) => {
    expect(() => toStructural({ type: 'object', properties: { b: { type: 'string', [key]: {} } } })).toThrow(
      `.b: ${key} cannot be expressed in a CRD schema`,
    );
  });

  it('throws naming the path of a node without a type, through items', () => {
    expect(() =>
      toStructural({ type: 'object', properties: { list: { type: 'array', items: { description: 'x' } } } }),
    ).toThrow('.list[]: every node needs a type');
  });

  it('names the root when the root itself is bad', () => {
    expect(() => toStructural({})).toThrow('<root>: every node needs a type');
    expect(() => toStructural({ anyOf: [] })).toThrow('<root>: anyOf cannot be expressed in a CRD schema');
  });

  it('keeps what is structural and drops what is not', () => {
    expect(
      toStructural({
        $schema: 'http://json-schema.org/draft-04/schema#',
        type: 'object',
        additionalProperties: false,
        properties: {
          n: { type: 'integer', minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
          m: { type: 'integer', minimum: 1, maximum: 5 },
          e: { type: 'string', format: 'email', pattern: '^.+@.+$' },
          r: { type: 'string', format: 'regex' },
          map: { type: 'object', additionalProperties: { type: 'string', format: 'byte' } },
        },
      }),
    ).toEqual({
      type: 'object',
      properties: {
        n: { type: 'integer' },
        m: { type: 'integer', minimum: 1, maximum: 5 },
        e: { type: 'string', format: 'email' },
        r: { type: 'string' },
        map: { type: 'object', additionalProperties: { type: 'string', format: 'byte' } },
      },
    });
  });
});
