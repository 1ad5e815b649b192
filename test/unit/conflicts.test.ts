import { describe, expect, it } from 'vitest';
import {
  conflictingOwner,
  ownershipConflict,
  signerOwner,
  type TrustDomainClaim,
} from '../../src/core/trustdomain/conflicts.ts';

const claim = (name: string, trustDomain: string, creationTimestamp: string): TrustDomainClaim => ({
  name,
  trustDomain,
  creationTimestamp,
});

describe('conflictingOwner', () => {
  it('gives undefined to a sole claim', () => {
    const only = claim('only', 'example.org', '2030-01-01T00:00:00Z');
    expect(conflictingOwner(only, [only])).toBeUndefined();
  });

  it('names the older claim as the owner of a younger one', () => {
    const older = claim('zz-older', 'example.org', '2030-01-01T00:00:00Z');
    const younger = claim('aa-younger', 'example.org', '2030-01-01T00:00:01Z');
    expect(conflictingOwner(younger, [younger, older])).toBe(older);
    expect(conflictingOwner(younger, [older, younger])).toBe(older);
  });

  it('gives undefined to the owner itself', () => {
    const older = claim('zz-older', 'example.org', '2030-01-01T00:00:00Z');
    const younger = claim('aa-younger', 'example.org', '2030-01-01T00:00:01Z');
    expect(conflictingOwner(older, [younger, older])).toBeUndefined();
  });

  it('breaks a tie within the same second by name', () => {
    const a = claim('alpha', 'example.org', '2030-01-01T00:00:00Z');
    const b = claim('beta', 'example.org', '2030-01-01T00:00:00Z');
    expect(conflictingOwner(b, [b, a])).toBe(a);
    expect(conflictingOwner(a, [b, a])).toBeUndefined();
  });

  it('picks the oldest among several claims', () => {
    const first = claim('c', 'example.org', '2029-12-31T23:59:59Z');
    const second = claim('a', 'example.org', '2030-01-01T00:00:00Z');
    const third = claim('b', 'example.org', '2030-06-01T00:00:00Z');
    const all = [third, second, first];
    expect(conflictingOwner(second, all)).toBe(first);
    expect(conflictingOwner(third, all)).toBe(first);
    expect(conflictingOwner(first, all)).toBeUndefined();
  });

  it('ignores claims on other trust domains, however old', () => {
    const ancient = claim('ancient', 'other.org', '2000-01-01T00:00:00Z');
    const mine = claim('mine', 'example.org', '2030-01-01T00:00:00Z');
    expect(conflictingOwner(mine, [ancient, mine])).toBeUndefined();
  });

  it('does not mutate the claims it is given', () => {
    const older = claim('older', 'example.org', '2030-01-01T00:00:00Z');
    const younger = claim('younger', 'example.org', '2030-01-02T00:00:00Z');
    const claims = [younger, older];
    conflictingOwner(younger, claims);
    expect(claims).toEqual([younger, older]);
  });
});

const signing = (name: string, trustDomain: string, signerName: string, creationTimestamp: string) => ({
  ...claim(name, trustDomain, creationTimestamp),
  signerName,
});

describe('ownershipConflict', () => {
  it('gives undefined to an object that owns its trust domain and its signer name', () => {
    const mine = signing('mine', 'example.org', 'trustline.dev/mine', '2030-01-01T00:00:00Z');
    const other = signing('other', 'other.org', 'trustline.dev/other', '2029-01-01T00:00:00Z');
    expect(ownershipConflict(mine, [other, mine])).toBeUndefined();
  });

  it('names the older owner of the trust domain name, whatever the signer names', () => {
    const owner = signing('owner', 'example.org', 'trustline.dev/owner', '2030-01-01T00:00:00Z');
    const loser = signing('loser', 'example.org', 'trustline.dev/loser', '2030-01-02T00:00:00Z');
    expect(ownershipConflict(loser, [owner, loser])).toEqual({
      kind: 'TrustDomain',
      owner,
      message: 'TrustDomain owner already serves trust domain example.org and is older',
    });
  });

  it('names the older object answering for the same signer name, on another trust domain', () => {
    const owner = signing('owner', 'a.example.org', 'trustline.dev/shared', '2030-01-01T00:00:00Z');
    const loser = signing('loser', 'b.example.org', 'trustline.dev/shared', '2030-01-02T00:00:00Z');
    const conflict = ownershipConflict(loser, [loser, owner]);
    expect(conflict?.kind).toBe('SignerName');
    expect(conflict?.owner).toBe(owner);
    expect(conflict?.message).toContain('TrustDomain owner already answers for signer trustline.dev/shared');
    expect(ownershipConflict(owner, [loser, owner])).toBeUndefined();
  });

  it('breaks a signer-name tie within the same second by name', () => {
    const a = signing('alpha', 'a.example.org', 'trustline.dev/shared', '2030-01-01T00:00:00Z');
    const b = signing('beta', 'b.example.org', 'trustline.dev/shared', '2030-01-01T00:00:00Z');
    expect(ownershipConflict(b, [b, a])?.owner).toBe(a);
    expect(ownershipConflict(a, [b, a])).toBeUndefined();
  });

  it('lets claims without a signer name contend for none', () => {
    const a = claim('a', 'a.example.org', '2030-01-01T00:00:00Z');
    const b = claim('b', 'b.example.org', '2030-01-02T00:00:00Z');
    expect(ownershipConflict(b, [a, b])).toBeUndefined();
  });
});

describe('signerOwner', () => {
  it('is the oldest object naming the signer, and undefined for a signer nobody names', () => {
    const old = signing('old', 'a.example.org', 'trustline.dev/shared', '2030-01-01T00:00:00Z');
    const young = signing('young', 'b.example.org', 'trustline.dev/shared', '2030-02-01T00:00:00Z');
    const other = signing('other', 'c.example.org', 'trustline.dev/other', '2020-01-01T00:00:00Z');
    expect(signerOwner('trustline.dev/shared', [young, other, old])).toBe(old);
    expect(signerOwner('trustline.dev/nobody', [young, other, old])).toBeUndefined();
  });
});
