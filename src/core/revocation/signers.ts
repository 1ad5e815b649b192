import { decodeProtectedHeader } from 'jose';
import { ANNOTATION_SVID_AUTHORITY_ID } from '../../api/well-known.ts';

/**
 * Which authorities signed the SVIDs in a Secret: the X.509 authority its annotation names (the
 * re-issue policies re-sign a Secret whose annotation disagrees with its certificate) and the `kid` of
 * each JWT-SVID. Reading annotations and JWT headers keeps a count over thousands of Secrets cheap.
 */
export function svidSigners(secret: {
  data: Readonly<Record<string, string | Buffer | undefined>>;
  annotations: Readonly<Record<string, string | undefined>>;
  /** The data keys that hold JWT-SVIDs. */
  jwtKeys: readonly string[];
}): string[] {
  const signers: string[] = [];
  const x509 = secret.annotations[ANNOTATION_SVID_AUTHORITY_ID];
  if (x509 !== undefined && x509 !== '') signers.push(x509.toLowerCase());
  for (const key of secret.jwtKeys) {
    const token = secret.data[key];
    if (token === undefined) continue;
    try {
      const { kid } = decodeProtectedHeader(String(token).trim());
      if (kid !== undefined) signers.push(kid);
    } catch {
      // Not a JWT: the re-issue policies replace it, and no key signed it.
    }
  }
  return signers;
}

/** How many SVIDs each authority signed, over many Secrets' signer lists. */
export function countBySigner(signerLists: Iterable<readonly string[]>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const signers of signerLists) {
    for (const id of signers) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

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

/** How many SVIDs each authority signed, in Secrets Trustline can re-issue and in those it cannot write. */
export function signerCounts(found: readonly EntrySigners[]): {
  reissuable: Map<string, number>;
  unwritable: Map<string, number>;
} {
  const count = (unwritable: boolean) =>
    countBySigner(found.filter((entry) => entry.unwritable === unwritable).map(({ signers }) => signers));
  return { reissuable: count(false), unwritable: count(true) };
}
