import { createHash } from 'node:crypto';

const MAX_LABEL_VALUE = 63;

/**
 * A label value that stands for `text`: the text itself when it is a valid label value, otherwise a
 * readable prefix and a hash. Object names run to 253 characters and trust domain names to 255, but
 * label values stop at 63.
 */
export function labelValueFor(text: string): string {
  if (text.length <= MAX_LABEL_VALUE && /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/.test(text))
    return text;
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const prefix = text.slice(0, MAX_LABEL_VALUE - hash.length - 1).replace(/^[^A-Za-z0-9]+/, '');
  return prefix ? `${prefix}-${hash}` : hash;
}
