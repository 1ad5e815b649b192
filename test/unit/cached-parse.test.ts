import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cachedParse } from '../../src/kube/cached-parse.ts';
import type { KubeObject } from '../../src/kube/informer.ts';

/** A schema that counts how often it runs, valid input or not. */
const counted = () => {
  let parses = 0;
  const schema = z.preprocess(
    (value) => {
      parses += 1;
      return value;
    },
    z.object({ spec: z.object({ size: z.int() }) }).transform((object) => object.spec.size),
  );
  return { parses: () => parses, read: cachedParse(schema) };
};

const object = (name: string, spec: unknown): KubeObject => ({ metadata: { name }, spec });

describe('cachedParse', () => {
  it('parses each cached object once, however often it is read', () => {
    const { parses, read } = counted();
    const first = object('a', { size: 1 });
    expect([read(first), read(first), read(first)]).toEqual([1, 1, 1]);
    expect(parses()).toBe(1);
  });

  it('parses the object that replaces it in the cache afresh', () => {
    const { parses, read } = counted();
    expect(read(object('a', { size: 1 }))).toBe(1);
    expect(read(object('a', { size: 2 }))).toBe(2);
    expect(parses()).toBe(2);
  });

  it('gives undefined, once decided, for an object the schema refuses and for no object', () => {
    const { parses, read } = counted();
    const bad = object('b', { size: 'large' });
    expect([read(bad), read(bad), read(undefined)]).toEqual([undefined, undefined, undefined]);
    expect(parses()).toBe(1);
  });
});
