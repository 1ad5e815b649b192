import { describe, expect, it } from 'vitest';
import { selectorMatches } from '../../src/core/selector.ts';

const labels = { team: 'payments', tier: 'backend' };

describe('selectorMatches', () => {
  it('matches everything with an empty selector, even without labels', () => {
    expect(selectorMatches({}, labels)).toBe(true);
    expect(selectorMatches({}, {})).toBe(true);
    expect(selectorMatches({}, undefined)).toBe(true);
    expect(selectorMatches({ matchLabels: {}, matchExpressions: [] }, undefined)).toBe(true);
  });

  describe('matchLabels', () => {
    it('matches when every pair is present with the same value', () => {
      expect(selectorMatches({ matchLabels: { team: 'payments' } }, labels)).toBe(true);
      expect(selectorMatches({ matchLabels: { team: 'payments', tier: 'backend' } }, labels)).toBe(true);
    });

    it('refuses a different value', () => {
      expect(selectorMatches({ matchLabels: { team: 'search' } }, labels)).toBe(false);
    });

    it('refuses when one of several pairs does not hold', () => {
      expect(selectorMatches({ matchLabels: { team: 'payments', tier: 'frontend' } }, labels)).toBe(false);
    });

    it('refuses a missing label and an undefined label map', () => {
      expect(selectorMatches({ matchLabels: { zone: 'a' } }, labels)).toBe(false);
      expect(selectorMatches({ matchLabels: { team: 'payments' } }, undefined)).toBe(false);
    });

    it('refuses an empty value when the label is missing', () => {
      expect(selectorMatches({ matchLabels: { zone: '' } }, labels)).toBe(false);
      expect(selectorMatches({ matchLabels: { zone: '' } }, { zone: '' })).toBe(true);
    });
  });

  describe('matchExpressions', () => {
    it('In: holds when the value is one of the values', () => {
      const selector = {
        matchExpressions: [{ key: 'team', operator: 'In' as const, values: ['search', 'payments'] }],
      };
      expect(selectorMatches(selector, labels)).toBe(true);
      expect(selectorMatches(selector, { team: 'billing' })).toBe(false);
    });

    it('In: never holds for a missing label, an undefined label map or no values', () => {
      const selector = { matchExpressions: [{ key: 'zone', operator: 'In' as const, values: ['a'] }] };
      expect(selectorMatches(selector, labels)).toBe(false);
      expect(selectorMatches(selector, undefined)).toBe(false);
      expect(selectorMatches({ matchExpressions: [{ key: 'team', operator: 'In' }] }, labels)).toBe(false);
    });

    it('NotIn: holds when the value is none of the values', () => {
      const selector = {
        matchExpressions: [{ key: 'team', operator: 'NotIn' as const, values: ['search', 'payments'] }],
      };
      expect(selectorMatches(selector, labels)).toBe(false);
      expect(selectorMatches(selector, { team: 'billing' })).toBe(true);
    });

    it('NotIn: holds for a missing label and an undefined label map', () => {
      const selector = { matchExpressions: [{ key: 'zone', operator: 'NotIn' as const, values: ['a'] }] };
      expect(selectorMatches(selector, labels)).toBe(true);
      expect(selectorMatches(selector, undefined)).toBe(true);
    });

    it('Exists: holds when the key is present, whatever its value', () => {
      const selector = { matchExpressions: [{ key: 'team', operator: 'Exists' as const }] };
      expect(selectorMatches(selector, labels)).toBe(true);
      expect(selectorMatches(selector, { team: '' })).toBe(true);
      expect(selectorMatches(selector, { tier: 'backend' })).toBe(false);
      expect(selectorMatches(selector, undefined)).toBe(false);
    });

    it('DoesNotExist: holds when the key is absent', () => {
      const selector = { matchExpressions: [{ key: 'team', operator: 'DoesNotExist' as const }] };
      expect(selectorMatches(selector, labels)).toBe(false);
      expect(selectorMatches(selector, { team: '' })).toBe(false);
      expect(selectorMatches(selector, { tier: 'backend' })).toBe(true);
      expect(selectorMatches(selector, undefined)).toBe(true);
    });

    it('requires every expression to hold', () => {
      const selector = {
        matchExpressions: [
          { key: 'team', operator: 'Exists' as const },
          { key: 'tier', operator: 'In' as const, values: ['frontend'] },
        ],
      };
      expect(selectorMatches(selector, labels)).toBe(false);
      expect(selectorMatches(selector, { team: 'payments', tier: 'frontend' })).toBe(true);
    });
  });

  describe('matchLabels and matchExpressions together', () => {
    const selector = {
      matchLabels: { team: 'payments' },
      matchExpressions: [
        { key: 'tier', operator: 'NotIn' as const, values: ['frontend'] },
        { key: 'legacy', operator: 'DoesNotExist' as const },
      ],
    };

    it('matches only when all of them hold', () => {
      expect(selectorMatches(selector, labels)).toBe(true);
    });

    it('refuses when only the labels fail', () => {
      expect(selectorMatches(selector, { ...labels, team: 'search' })).toBe(false);
    });

    it('refuses when only one expression fails', () => {
      expect(selectorMatches(selector, { ...labels, tier: 'frontend' })).toBe(false);
      expect(selectorMatches(selector, { ...labels, legacy: 'true' })).toBe(false);
    });
  });
});
