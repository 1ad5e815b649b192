import { z } from 'zod';
import { GROUP, VERSION } from './group.ts';
import type { KindDefinition } from './kind.ts';

type JsonSchema = { [key: string]: unknown };

/** String formats the apiserver validates; zod emits others (and patterns for them) that it would not. */
const KUBERNETES_FORMATS = new Set([
  'uri',
  'email',
  'hostname',
  'ipv4',
  'ipv6',
  'cidr',
  'uuid',
  'date',
  'byte',
]);
const SAFE_INTEGER_BOUNDS = new Set([Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]);
const UNSTRUCTURAL_KEYS = ['anyOf', 'oneOf', 'allOf', 'not', '$ref'];

const isSchema = (value: unknown): value is JsonSchema =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Turns zod's OpenAPI 3.0 output into a Kubernetes structural schema: drops what the apiserver would
 * reject or misread, and refuses (at generation time) any construct a structural schema cannot express.
 */
export function toStructural(schema: JsonSchema, path = ''): JsonSchema {
  for (const key of UNSTRUCTURAL_KEYS) {
    if (key in schema) throw new Error(`${path || '<root>'}: ${key} cannot be expressed in a CRD schema`);
  }
  if (typeof schema.type !== 'string') throw new Error(`${path || '<root>'}: every node needs a type`);
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$schema' || (key === 'additionalProperties' && value === false)) continue;
    if ((key === 'minimum' || key === 'maximum') && SAFE_INTEGER_BOUNDS.has(value as number)) continue;
    if (key === 'format' && !KUBERNETES_FORMATS.has(String(value))) continue;
    if (key === 'pattern' && 'format' in schema) continue;
    if (key === 'properties' && isSchema(value)) {
      out.properties = Object.fromEntries(
        Object.entries(value).map(([name, child]) => [
          name,
          toStructural(child as JsonSchema, `${path}.${name}`),
        ]),
      );
    } else if ((key === 'items' || key === 'additionalProperties') && isSchema(value)) {
      out[key] = toStructural(value, `${path}[]`);
    } else {
      out[key] = value;
    }
  }
  return out;
}

export function openApiSchemaOf(schema: z.ZodType): JsonSchema {
  return toStructural(z.toJSONSchema(schema, { io: 'input', target: 'openapi-3.0' }) as JsonSchema);
}

export function crdName(definition: Pick<KindDefinition<z.ZodType, z.ZodType>, 'plural'>): string {
  return `${definition.plural}.${GROUP}`;
}

/** The CustomResourceDefinition of one kind, generated from its zod schemas. */
export function buildCrd(definition: KindDefinition<z.ZodType, z.ZodType>) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: crdName(definition), labels: { 'app.kubernetes.io/part-of': 'trustline' } },
    spec: {
      group: GROUP,
      names: {
        kind: definition.kind,
        listKind: `${definition.kind}List`,
        plural: definition.plural,
        singular: definition.singular,
        shortNames: definition.shortNames,
        categories: ['trustline'],
      },
      scope: definition.scope,
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: definition.printerColumns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: definition.description,
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: openApiSchemaOf(definition.spec),
                status: openApiSchemaOf(definition.status),
              },
            },
          },
        },
      ],
    },
  };
}
