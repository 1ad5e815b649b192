/**
 * Go-style duration strings (`90m`, `1h30m`, `0.5s`), the form Kubernetes users already write and the one
 * the apiserver's CEL `duration()` accepts. The parser follows Go's time.ParseDuration grammar so that
 * what the apiserver admits and what the operator reads never disagree.
 */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

/** RE2-compatible (the apiserver evaluates `pattern` with Go's regexp), anchored. */
export const DURATION_PATTERN = '^[-+]?(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$';
const durationRegExp = new RegExp(DURATION_PATTERN);
const termRegExp = /([0-9]*\.?[0-9]*)(ns|us|µs|μs|ms|s|m|h)/gy;

/** Parses a Go duration into milliseconds, or returns undefined when the text is not one. */
export function parseDuration(text: string): number | undefined {
  if (!durationRegExp.test(text)) return undefined;
  const sign = text.startsWith('-') ? -1 : 1;
  const body = text.replace(/^[-+]/, '');
  if (body === '0') return 0;
  let total = 0;
  termRegExp.lastIndex = 0;
  for (let match = termRegExp.exec(body); match !== null; match = termRegExp.exec(body)) {
    const [, amount = '', unit = ''] = match;
    total += Number(amount) * (UNIT_MS[unit] ?? Number.NaN);
    if (termRegExp.lastIndex === body.length) break;
  }
  return sign * total;
}

/**
 * The milliseconds of a duration already admitted by a schema; a text that is not one is a programming
 * error, not bad input, so it throws.
 */
export function durationMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new Error(`not a duration: ${text}`);
  return ms;
}
