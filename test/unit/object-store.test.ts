import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/informer.ts';
import { ObjectStore } from '../../src/kube/object-store.ts';

const object = (namespace: string | undefined, name: string, resourceVersion = '1'): KubeObject => ({
  metadata: { name, resourceVersion, ...(namespace === undefined ? {} : { namespace }) },
});
const names = (objects: KubeObject[]) =>
  objects.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`);

describe('ObjectStore', () => {
  it('indexes objects by namespace, in step with sets and deletes', () => {
    const store = new ObjectStore();
    store.set('a/one', object('a', 'one'));
    store.set('a/two', object('a', 'two'));
    store.set('b/one', object('b', 'one'));
    store.set('cluster', object(undefined, 'cluster'));
    expect(names(store.inNamespace('a'))).toEqual(['one@1', 'two@1']);
    expect(names(store.inNamespace('b'))).toEqual(['one@1']);
    expect(names(store.inNamespace(''))).toEqual(['cluster@1']);
    expect(store.inNamespace('c')).toEqual([]);

    store.set('a/one', object('a', 'one', '2'));
    expect(names(store.inNamespace('a'))).toEqual(['one@2', 'two@1']);
    store.delete('a/two');
    store.delete('a/missing');
    expect(names(store.inNamespace('a'))).toEqual(['one@2']);
    store.delete('b/one');
    expect(store.inNamespace('b')).toEqual([]);
    expect(store.size).toBe(2);
    expect(store.get('a/one')?.metadata.resourceVersion).toBe('2');
  });

  it('lets entries be deleted while they are iterated, as a relist does', () => {
    const store = new ObjectStore();
    for (const name of ['one', 'two', 'three']) store.set(`a/${name}`, object('a', name));
    for (const [key] of store.entries()) store.delete(key);
    expect(store.size).toBe(0);
    expect(store.inNamespace('a')).toEqual([]);
  });
});
