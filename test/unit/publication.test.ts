import { describe, expect, it } from 'vitest';
import { type PublishedCopy, planPublication } from '../../src/core/publication.ts';

const NAME = 'example-trust-bundle';
const OWNER = 'uid-1';
const DATA = { 'bundle.spiffe': '{"keys":[]}', 'ca.crt': 'pem' };

const copy = (namespace: string, overrides: Partial<PublishedCopy> = {}): PublishedCopy => ({
  namespace,
  name: NAME,
  resourceVersion: `rv-${namespace}`,
  data: DATA,
  ownerUid: OWNER,
  ...overrides,
});

const plan = (namespaces: readonly string[], existing: readonly PublishedCopy[]) =>
  planPublication({ name: NAME, data: DATA, namespaces, existing, ownerUid: OWNER });

describe('planPublication', () => {
  it('creates in every wanted namespace without a copy, sorted', () => {
    expect(plan(['zeta', 'alpha', 'mid'], [])).toEqual({
      create: ['alpha', 'mid', 'zeta'],
      update: [],
      empty: [],
    });
  });

  it('creates once for a namespace listed twice', () => {
    expect(plan(['b', 'a', 'b'], []).create).toEqual(['a', 'b']);
  });

  it('writes nothing when every copy has the data and the owner', () => {
    expect(plan(['a', 'b'], [copy('a'), copy('b')])).toEqual({ create: [], update: [], empty: [] });
  });

  it('treats the same data in a different key order as equal', () => {
    const reordered = { 'ca.crt': 'pem', 'bundle.spiffe': '{"keys":[]}' };
    expect(Object.keys(reordered)).not.toEqual(Object.keys(DATA));
    expect(plan(['a'], [copy('a', { data: reordered })])).toEqual({ create: [], update: [], empty: [] });
  });

  it('updates a copy whose value was edited by hand', () => {
    const edited = { ...DATA, 'ca.crt': 'edited' };
    expect(plan(['a', 'b'], [copy('a', { data: edited }), copy('b')])).toEqual({
      create: [],
      update: [{ namespace: 'a', resourceVersion: 'rv-a' }],
      empty: [],
    });
  });

  it('updates a copy with a key added or a key removed', () => {
    const added = { ...DATA, extra: 'x' };
    const removed = { 'ca.crt': 'pem' };
    expect(plan(['a', 'b'], [copy('a', { data: added }), copy('b', { data: removed })]).update).toEqual([
      { namespace: 'a', resourceVersion: 'rv-a' },
      { namespace: 'b', resourceVersion: 'rv-b' },
    ]);
  });

  it('updates a copy with a renamed key and the same number of keys', () => {
    const renamed = { 'bundle.spiffe': '{"keys":[]}', 'tls.crt': 'pem' };
    expect(plan(['a'], [copy('a', { data: renamed })]).update).toEqual([
      { namespace: 'a', resourceVersion: 'rv-a' },
    ]);
  });

  it('updates a copy owned by another uid or by none', () => {
    expect(
      plan(['a', 'b'], [copy('a', { ownerUid: 'uid-old' }), copy('b', { ownerUid: undefined })]),
    ).toEqual({
      create: [],
      update: [
        { namespace: 'a', resourceVersion: 'rv-a' },
        { namespace: 'b', resourceVersion: 'rv-b' },
      ],
      empty: [],
    });
  });

  it('empties copies in namespaces no longer wanted', () => {
    expect(plan(['a'], [copy('a'), copy('gone')])).toEqual({
      create: [],
      update: [],
      empty: [{ namespace: 'gone', name: NAME, resourceVersion: 'rv-gone' }],
    });
  });

  it('empties everything when no namespace is wanted', () => {
    expect(plan([], [copy('a'), copy('b')])).toEqual({
      create: [],
      update: [],
      empty: [
        { namespace: 'a', name: NAME, resourceVersion: 'rv-a' },
        { namespace: 'b', name: NAME, resourceVersion: 'rv-b' },
      ],
    });
  });

  it('empties a copy under an old name and creates the new name in its place', () => {
    const old = copy('a', { name: 'old-bundle', resourceVersion: 'rv-old' });
    expect(plan(['a'], [old])).toEqual({
      create: ['a'],
      update: [],
      empty: [{ namespace: 'a', name: 'old-bundle', resourceVersion: 'rv-old' }],
    });
  });

  it('plans a mix of creates, updates, emptyings and untouched copies', () => {
    const existing = [
      copy('keep'),
      copy('edited', { data: { ...DATA, 'ca.crt': 'tampered' } }),
      copy('orphaned', { ownerUid: undefined }),
      copy('unwanted'),
      copy('renamed', { name: 'old-bundle', resourceVersion: 'rv-renamed-old' }),
    ];
    expect(plan(['new-b', 'keep', 'edited', 'orphaned', 'renamed', 'new-a'], existing)).toEqual({
      create: ['new-a', 'new-b', 'renamed'],
      update: [
        { namespace: 'edited', resourceVersion: 'rv-edited' },
        { namespace: 'orphaned', resourceVersion: 'rv-orphaned' },
      ],
      empty: [
        { namespace: 'unwanted', name: NAME, resourceVersion: 'rv-unwanted' },
        { namespace: 'renamed', name: 'old-bundle', resourceVersion: 'rv-renamed-old' },
      ],
    });
  });

  it('leaves a copy it already emptied alone, and fills it again when its namespace is wanted again', () => {
    const emptied = copy('left', { data: {} });
    expect(plan(['a'], [copy('a'), emptied])).toEqual({ create: [], update: [], empty: [] });
    expect(plan(['a', 'left'], [copy('a'), emptied]).update).toEqual([
      { namespace: 'left', resourceVersion: 'rv-left' },
    ]);
  });
});
