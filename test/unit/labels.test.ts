import { describe, expect, it } from 'vitest';
import { labelValueFor } from '../../src/core/labels.ts';

const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

describe('labelValueFor', () => {
  it.each(['prod', 'prod.example.org', 'my_domain.org', 'a'.repeat(63)])(
    'keeps %j, a valid label value',
    (text) => {
      expect(labelValueFor(text)).toBe(text);
    },
  );

  it.each(['a'.repeat(64), `${'x'.repeat(200)}.example.org`, '-leading-dash', 'trailing.', '..'])(
    'turns %j into a valid, distinct label value of at most 63 characters',
    (text) => {
      const value = labelValueFor(text);
      expect(value.length).toBeLessThanOrEqual(63);
      expect(value).toMatch(LABEL_VALUE);
      expect(value).not.toBe(text);
      expect(labelValueFor(text)).toBe(value);
    },
  );

  it('keeps two long names apart that share their first 63 characters', () => {
    const prefix = 'p'.repeat(70);
    expect(labelValueFor(`${prefix}-one`)).not.toBe(labelValueFor(`${prefix}-two`));
  });
});
