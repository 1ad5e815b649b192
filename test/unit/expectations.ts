import { createHash, type KeyObject } from 'node:crypto';
import { SvidError } from '../../src/core/svid/validation.ts';

/** Expectations the X.509 authority and SVID tests share. */

/** RFC 5280 method 1 computed another way: the subjectPublicKey bits are the EC point or PKCS#1 key. */
export function expectedKeyId(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' });
  const bits =
    jwk.kty === 'EC'
      ? Buffer.concat([
          Buffer.of(4),
          Buffer.from(jwk.x ?? '', 'base64url'),
          Buffer.from(jwk.y ?? '', 'base64url'),
        ])
      : publicKey.export({ type: 'pkcs1', format: 'der' });
  return createHash('sha1').update(bits).digest('hex');
}

/** The SvidError a call throws or rejects with. */
export async function failure(run: () => unknown): Promise<SvidError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof SvidError) return error;
    throw error;
  }
  throw new Error('expected an SvidError, and nothing was thrown');
}
