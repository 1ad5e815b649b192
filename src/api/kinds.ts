import { keyRevocationKind } from './keyrevocation.ts';
import { registrationEntryKind } from './registrationentry.ts';
import { trustDomainKind } from './trustdomain.ts';

/** Every kind Trustline serves, in the order generated files list them. */
export const allKinds = [trustDomainKind, registrationEntryKind, keyRevocationKind] as const;
