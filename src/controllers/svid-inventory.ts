import { z } from 'zod';
import { x509 } from '../core/authorities/x509.ts';
import type { PodCertificateRecord } from '../core/revocation/pod-certificates.ts';
import { countBySigner, svidSigners } from '../core/revocation/signers.ts';
import { EntryReason } from '../core/svid/reasons.ts';
import { withdrawnSigners } from '../core/svid/withdrawal.ts';
import { inSlices } from '../core/time-slice.ts';
import { cachedParse } from '../kube/cached-parse.ts';
import type { Informer } from '../kube/informer.ts';

const readEntry = cachedParse(
  z.object({
    metadata: z.object({ name: z.string(), namespace: z.string(), uid: z.string() }),
    spec: z.object({
      trustDomainRef: z.object({ name: z.string() }),
      secret: z.object({ name: z.string() }),
      jwtSVIDs: z.array(z.object({ key: z.string() })).optional(),
    }),
    status: z
      .object({
        conditions: z.array(z.object({ type: z.string(), reason: z.string().optional() })).optional(),
      })
      .optional(),
  }),
);

const readSecret = cachedParse(
  z.object({
    metadata: z.object({
      annotations: z.record(z.string(), z.string()).optional(),
      ownerReferences: z.array(z.object({ uid: z.string() })).optional(),
    }),
    data: z.record(z.string(), z.string()).optional(),
    immutable: z.boolean().optional(),
  }),
);

/** One entry's Secret as the caches show it: which authorities signed its SVIDs. */
export interface EntrySigners {
  /** namespace/name of the RegistrationEntry. */
  entry: string;
  signers: string[];
  /** The apiserver refuses to write the Secret (immutable, or the entry found it so): its tenant holds it. */
  unwritable: boolean;
  /** The authorities that had signed the SVIDs Trustline withdrew from it. */
  withdrawnSigners: string[];
}

/**
 * The signers of the SVIDs in the Secrets of a TrustDomain's entries, as the caches show them now. Only
 * the JWT data is decoded; certificates are known by their Secret's annotation. A cluster may hold
 * thousands of entries: the scan lets the event loop in between slices.
 */
export async function svidSignersOf(
  entries: Pick<Informer, 'list'>,
  secretCaches: (namespace: string) => Pick<Informer, 'get'> | undefined,
  trustDomainObject: string,
): Promise<EntrySigners[]> {
  const found: EntrySigners[] = [];
  for await (const object of inSlices(entries.list())) {
    const entry = readEntry(object);
    if (!entry || entry.spec.trustDomainRef.name !== trustDomainObject) continue;
    const { namespace, uid } = entry.metadata;
    const secret = readSecret(secretCaches(namespace)?.get(`${namespace}/${entry.spec.secret.name}`));
    if (!secret?.metadata.ownerReferences?.some((owner) => owner.uid === uid)) continue;
    const jwtKeys = (entry.spec.jwtSVIDs ?? []).map((jwt) => jwt.key);
    const data = secret.data ?? {};
    const annotations = secret.metadata.annotations ?? {};
    const ready = entry.status?.conditions?.find((condition) => condition.type === 'Ready');
    found.push({
      entry: `${namespace}/${entry.metadata.name}`,
      unwritable: secret.immutable === true || ready?.reason === EntryReason.SecretUnwritable,
      withdrawnSigners: withdrawnSigners(annotations),
      signers: svidSigners({
        annotations,
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

/**
 * How many SVIDs each authority signed among the Secrets of a TrustDomain's entries: in Secrets
 * Trustline can re-issue, and in Secrets the apiserver will not let it write.
 */
export async function svidsBySigner(
  entries: Pick<Informer, 'list'>,
  secretCaches: (namespace: string) => Pick<Informer, 'get'> | undefined,
  trustDomainObject: string,
): Promise<{ reissuable: Map<string, number>; unwritable: Map<string, number> }> {
  const found = await svidSignersOf(entries, secretCaches, trustDomainObject);
  const count = (unwritable: boolean) =>
    countBySigner(found.filter((entry) => entry.unwritable === unwritable).map(({ signers }) => signers));
  return { reissuable: count(false), unwritable: count(true) };
}

const issuedRequestSchema = z.object({
  metadata: z.object({ uid: z.string() }),
  spec: z.object({ signerName: z.string() }),
  status: z.object({ certificateChain: z.string().min(1), beginRefreshAt: z.string(), notAfter: z.string() }),
});

/**
 * The certificates issued to PodCertificateRequests, by signer, as the cache shows them now. A
 * certificate's signer never changes, so each issued request's leaf is parsed once while it exists.
 */
export class PodCertificateInventory {
  readonly #requests: Informer;
  #signerOfRequest = new Map<string, string>();

  constructor(requests: Informer) {
    this.#requests = requests;
  }

  async of(signerName: string): Promise<PodCertificateRecord[]> {
    const found: PodCertificateRecord[] = [];
    const known = this.#signerOfRequest;
    const signerOfRequest = new Map<string, string>();
    for await (const object of inSlices(this.#requests.list())) {
      const request = issuedRequestSchema.safeParse(object).data;
      if (!request) continue;
      const signerId = known.get(request.metadata.uid) ?? leafIssuerId(request.status.certificateChain) ?? '';
      signerOfRequest.set(request.metadata.uid, signerId);
      if (request.spec.signerName !== signerName) continue;
      found.push({
        signerId,
        beginRefreshAt: new Date(request.status.beginRefreshAt),
        notAfter: new Date(request.status.notAfter),
      });
    }
    this.#signerOfRequest = signerOfRequest;
    return found;
  }
}

/** The authority key id of the chain's leaf: the subject key id of the X.509 authority that signed it. */
function leafIssuerId(chain: string): string | undefined {
  try {
    const leaf = chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0];
    return leaf && new x509.X509Certificate(leaf).getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
  } catch {
    return undefined;
  }
}
