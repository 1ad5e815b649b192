/** Comparing and naming the sets an SVID holds (SANs, audiences) in messages users read. */

export const sameSet = (a: readonly string[], b: readonly string[]): boolean => {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((item) => right.has(item));
};

export const describeSet = (items: readonly string[]): string =>
  items.length === 0 ? 'none' : [...new Set(items)].sort().join(', ');
