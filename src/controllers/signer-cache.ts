import type { Journal, JwtAuthority, X509Authority } from '../core/authorities/model.ts';
import { type JwtSvidSigner, prepareJwtSigner } from '../core/svid/jwt-svid.ts';
import { prepareX509Signer, type X509SvidSigner } from '../core/svid/x509-svid.ts';

/**
 * Signers prepared once per authority, shared by everything that signs SVIDs: the key import is the
 * expensive part.
 */
export class SignerCache {
  readonly #x509 = new Map<string, X509SvidSigner>();
  readonly #jwt = new Map<string, JwtSvidSigner>();

  x509(authority: X509Authority): X509SvidSigner {
    let signer = this.#x509.get(authority.id);
    if (!signer) {
      signer = prepareX509Signer(authority);
      this.#x509.set(authority.id, signer);
    }
    return signer;
  }

  jwt(authority: JwtAuthority, trustDomain: string): JwtSvidSigner {
    let signer = this.#jwt.get(authority.id);
    if (!signer) {
      signer = prepareJwtSigner(authority, trustDomain);
      this.#jwt.set(authority.id, signer);
    }
    return signer;
  }

  /** Drops the signers of tainted and revoked authorities, so no copy of their keys stays in memory. */
  forgetUnfit(journal: Journal): void {
    const unfit = [
      ...journal.revoked.map((revoked) => revoked.id),
      ...journal.authorities.filter((a) => a.state === 'Tainted').map((a) => a.id),
    ];
    for (const id of unfit) {
      this.#x509.delete(id);
      this.#jwt.delete(id);
    }
  }
}
