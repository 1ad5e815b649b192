import { z } from 'zod';
import { registrationEntrySpecFields } from '../api/registrationentry.ts';
import { trustDomainSpecFields } from '../api/trustdomain.ts';

/**
 * What one Trustline object names of others, read without validating the rest of it: a change to an
 * object with a spec error must still wake what it refers to.
 */
const trustDomainReferencesSchema = z.object({
  spec: trustDomainSpecFields.pick({ trustDomain: true, upstream: true }).partial(),
});
/** RegistrationEntries and KeyRevocations alike name their TrustDomain object by trustDomainRef. */
const entryReferencesSchema = z.object({
  spec: registrationEntrySpecFields.pick({ trustDomainRef: true, secret: true }).partial(),
});

/** The trust domain name a TrustDomain object serves. */
export const trustDomainNameOf = (object: unknown): string | undefined =>
  trustDomainReferencesSchema.safeParse(object).data?.spec.trustDomain;

/** The upstream CA Secret a TrustDomain object names. */
export const upstreamSecretOf = (object: unknown): string | undefined =>
  trustDomainReferencesSchema.safeParse(object).data?.spec.upstream?.secretName;

/** The TrustDomain object a RegistrationEntry or KeyRevocation names. */
export const trustDomainRefOf = (object: unknown): string | undefined =>
  entryReferencesSchema.safeParse(object).data?.spec.trustDomainRef?.name;

/** Whether a RegistrationEntry serves pods (no Secret named), as far as its spec parses. */
export const servesPods = (object: unknown): boolean =>
  entryReferencesSchema.safeParse(object).data?.spec.secret === undefined;
