import { z } from 'zod';
import { API_VERSION } from './group.ts';
import { objectMetaSchema } from './meta.ts';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'date' | 'boolean' | 'number';
  jsonPath: string;
  description?: string;
  priority?: number;
}

/** Everything the CRD generator, the RBAC generator and the clients need to know about one kind. */
export interface KindDefinition<Spec extends z.ZodType, Status extends z.ZodType> {
  kind: string;
  singular: string;
  plural: string;
  shortNames: string[];
  scope: 'Cluster' | 'Namespaced';
  description: string;
  spec: Spec;
  status: Status;
  printerColumns: PrinterColumn[];
}

/** The schema of a whole object of the kind, as read from the cluster. */
export function objectSchema<Spec extends z.ZodType, Status extends z.ZodType>(
  definition: KindDefinition<Spec, Status>,
) {
  return z.object({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(definition.kind),
    metadata: objectMetaSchema,
    spec: definition.spec,
    status: definition.status.optional(),
  });
}

export const readyColumn: PrinterColumn = {
  name: 'Ready',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
};
export const reasonColumn: PrinterColumn = {
  name: 'Reason',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
};
export const ageColumn: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
};
