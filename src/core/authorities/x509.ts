import { webcrypto } from 'node:crypto';

/**
 * @peculiar/x509, loaded so that it works: it resolves its algorithms through tsyringe, which refuses
 * to load without the Reflect metadata API that the reflect-metadata package would install. Its
 * classes take no constructor parameters, so a minimal metadata store is all tsyringe needs. The
 * store must exist before the library loads, hence the dynamic import. Import @peculiar/x509 values
 * from here; `import type` from the package itself is fine.
 */
if (!('getMetadata' in Reflect)) {
  const metadata = new WeakMap<object, Map<unknown, unknown>>();
  const getOwnMetadata = (key: unknown, target: object): unknown => metadata.get(target)?.get(key);
  const getMetadata = (key: unknown, target: object): unknown => {
    for (let at: object | null = target; at !== null; at = Reflect.getPrototypeOf(at)) {
      const value = getOwnMetadata(key, at);
      if (value !== undefined) return value;
    }
    return undefined;
  };
  const defineMetadata = (key: unknown, value: unknown, target: object): void => {
    const entries = metadata.get(target) ?? new Map<unknown, unknown>();
    entries.set(key, value);
    metadata.set(target, entries);
  };
  Object.assign(Reflect, { getMetadata, getOwnMetadata, defineMetadata });
}

export const x509 = await import('@peculiar/x509');
x509.cryptoProvider.set(webcrypto);
