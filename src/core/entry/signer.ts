import { type JwtSvid, type JwtSvidParams, type JwtSvidSigner, mintJwtSvid } from '../svid/jwt-svid.ts';
import { mintX509Svid } from '../svid/x509-svid.ts';
import type { X509Svid, X509SvidParams, X509SvidSigner } from '../svid/x509-types.ts';

/**
 * What signs an entry's SVIDs. Asynchronous, so that key generation off the event loop and a signing
 * backend outside the process (an HSM) fit behind it without the planner changing.
 */
export interface EntrySigner {
  x509(params: X509SvidParams): Promise<X509Svid>;
  jwt(params: JwtSvidParams): Promise<JwtSvid>;
}

/** Signs in process with the trust domain's active authorities, made ready once by the caller. */
export const authoritySigner = (x509: X509SvidSigner, jwt: JwtSvidSigner): EntrySigner => ({
  x509: (params) => mintX509Svid(x509, params),
  jwt: (params) => mintJwtSvid(jwt, params),
});
