import { describe, expect, it } from 'vitest';
import { issuanceSelector, membershipProblem } from '../../src/core/trustdomain/membership.ts';

const prod = { matchLabels: { env: 'prod' } };
const spiffe = { matchLabels: { spiffe: 'enabled' } };

describe('issuanceSelector', () => {
  it('is the issuance selector when set, whatever the bundle selects', () => {
    expect(
      issuanceSelector({ issuance: { namespaceSelector: prod }, bundle: { namespaceSelector: spiffe } }),
    ).toEqual({ selector: prod, field: 'spec.issuance.namespaceSelector' });
  });

  it('follows the bundle selector when unset', () => {
    expect(issuanceSelector({ bundle: { namespaceSelector: spiffe } })?.selector).toBe(spiffe);
    expect(issuanceSelector({ issuance: {}, bundle: { namespaceSelector: spiffe } })?.field).toContain(
      'spec.bundle.namespaceSelector',
    );
  });

  it('selects every namespace when both are unset', () => {
    expect(issuanceSelector({ bundle: {} })).toBeUndefined();
  });
});

describe('membershipProblem', () => {
  it('lets every namespace hold identities when nothing selects, even one not yet seen', () => {
    expect(membershipProblem('td', { bundle: {} }, 'any', {})).toBeUndefined();
    expect(membershipProblem('td', { bundle: {} }, 'any', undefined)).toBeUndefined();
  });

  it('lets a selected namespace hold identities', () => {
    const spec = { issuance: { namespaceSelector: prod }, bundle: {} };
    expect(membershipProblem('td', spec, 'shop', { env: 'prod' })).toBeUndefined();
  });

  it('refuses an unselected namespace, naming the TrustDomain, the selector and its field', () => {
    const spec = { issuance: { namespaceSelector: prod }, bundle: { namespaceSelector: {} } };
    expect(membershipProblem('td', spec, 'sandbox', { env: 'dev' })).toBe(
      `namespace sandbox is not selected by TrustDomain td's issuance namespace selector {"matchLabels":{"env":"prod"}} (spec.issuance.namespaceSelector)`,
    );
  });

  it('refuses a namespace outside the bundle selector when issuance follows it', () => {
    const problem = membershipProblem('td', { bundle: { namespaceSelector: spiffe } }, 'sandbox', {});
    expect(problem).toContain('{"matchLabels":{"spiffe":"enabled"}}');
    expect(problem).toContain('spec.bundle.namespaceSelector');
  });

  it('never takes a namespace it has not seen to be selected, even by an empty-label match', () => {
    const spec = {
      issuance: {
        namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'DoesNotExist' as const }] },
      },
      bundle: {},
    };
    expect(membershipProblem('td', spec, 'fresh', {})).toBeUndefined();
    expect(membershipProblem('td', spec, 'fresh', undefined)).toContain('has not seen the namespace yet');
  });
});
