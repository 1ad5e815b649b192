import { z } from 'zod';
import { countBySigner, svidSigners } from '../core/revocation/signers.ts';
import type { Informer } from '../kube/informer.ts';

const entrySchema = z.object({
  metadata: z.object({ name: z.string(), namespace: z.string(), uid: z.string() }),
  spec: z.object({
    trustDomainRef: z.object({ name: z.string() }),
    secret: z.object({ name: z.string() }),
    jwtSVIDs: z.array(z.object({ key: z.string() })).optional(),
  }),
});

const secretSchema = z.object({
  metadata: z.object({
    annotations: z.record(z.string(), z.string()).optional(),
    ownerReferences: z.array(z.object({ uid: z.string() })).optional(),
  }),
  data: z.record(z.string(), z.string()).optional(),
});

/** One entry's Secret as the caches show it: which authorities signed its SVIDs. */
export interface EntrySigners {
  /** namespace/name of the RegistrationEntry. */
  entry: string;
  signers: string[];
}

/**
 * The signers of the SVIDs in the Secrets of a TrustDomain's entries, as the caches show them now. Only
 * the JWT data is decoded; certificates are known by their Secret's annotation.
 */
export function svidSignersOf(
  entries: Informer,
  secretCaches: (namespace: string) => Informer | undefined,
  trustDomainObject: string,
): EntrySigners[] {
  const found: EntrySigners[] = [];
  for (const object of entries.list()) {
    const entry = entrySchema.safeParse(object);
    if (!entry.success || entry.data.spec.trustDomainRef.name !== trustDomainObject) continue;
    const { namespace, uid } = entry.data.metadata;
    const secret = secretSchema.safeParse(
      secretCaches(namespace)?.get(`${namespace}/${entry.data.spec.secret.name}`),
    );
    if (!secret.success || !secret.data.metadata.ownerReferences?.some((owner) => owner.uid === uid))
      continue;
    const jwtKeys = (entry.data.spec.jwtSVIDs ?? []).map((jwt) => jwt.key);
    const data = secret.data.data ?? {};
    found.push({
      entry: `${namespace}/${entry.data.metadata.name}`,
      signers: svidSigners({
        annotations: secret.data.metadata.annotations ?? {},
        jwtKeys,
        data: Object.fromEntries(
          jwtKeys.flatMap((key) => {
            const value = data[key];
            return value === undefined ? [] : [[key, Buffer.from(value, 'base64').toString('utf8')]];
          }),
        ),
      }),
    });
  }
  return found;
}

/** How many SVIDs each authority signed among the Secrets of a TrustDomain's entries. */
export const svidsBySigner = (
  entries: Informer,
  secretCaches: (namespace: string) => Informer | undefined,
  trustDomainObject: string,
): Map<string, number> =>
  countBySigner(svidSignersOf(entries, secretCaches, trustDomainObject).map(({ signers }) => signers));
