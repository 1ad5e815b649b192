import type { Certificate } from '../core/verify/certificate.ts';
import { CertificateError, readCertificatesPem } from '../core/verify/certificate.ts';
import { CliError } from './errors.ts';
import { readText, readTextIfExists } from './files.ts';

/** Reading the SVID `verify svid` checks: a PEM chain file, or a JWT given as a file or inline. */

export async function readCertificateChain(path: string): Promise<[Certificate, ...Certificate[]]> {
  const text = await readText(path);
  try {
    return readCertificatesPem(text);
  } catch (error) {
    if (error instanceof CertificateError) throw new CliError(`${path}: ${error.message}`);
    throw error;
  }
}

/** Three base64url parts: what a JWS compact token looks like, and a file name hardly ever does. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * The token, and how messages should name it. A file at the path wins, so a file that happens to be
 * named like a token is still read; a token is never echoed into messages, since it is a credential.
 */
export async function readJwt(value: string): Promise<{ token: string; label: string }> {
  const looksLikeToken = COMPACT_JWS.test(value);
  let text: string | undefined;
  try {
    text = await readTextIfExists(value);
  } catch (error) {
    // A token is too long for a file name (ENAMETOOLONG): it was never meant as one.
    if (!looksLikeToken) throw error;
  }
  if (text !== undefined) return { token: text.trim(), label: value };
  if (looksLikeToken) return { token: value, label: 'the --jwt token' };
  throw new CliError(`${value}: no such file, and not a JWT`);
}
