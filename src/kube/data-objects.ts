import { z } from 'zod';
import { objectMetaSchema } from '../api/meta.ts';

/** A ConfigMap or Secret as Trustline reads it: metadata and string data. */
export const dataObjectSchema = z.object({
  metadata: objectMetaSchema,
  data: z.record(z.string(), z.string()).optional(),
});
export type DataObject = z.infer<typeof dataObjectSchema>;

/** A Secret's data, base64-decoded to UTF-8 text (Trustline's Secrets hold PEM, JSON and JWTs). */
export const decodeSecretData = (data: Readonly<Record<string, string>> = {}): Record<string, string> =>
  Object.fromEntries(
    Object.entries(data).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]),
  );
