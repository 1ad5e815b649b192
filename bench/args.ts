/** What `npm run bench -- …` asks for: the default short run, or the large run at `--entries N`. */
export type BenchMode = { kind: 'default' } | { kind: 'large'; entries: number };

/** Reads `--entries N` (or `--entries=N`); anything else is refused rather than ignored. */
export function parseBenchArgs(args: readonly string[]): BenchMode {
  let entries: number | undefined;
  const rest = [...args];
  while (rest.length > 0) {
    const arg = rest.shift() ?? '';
    const [flag, inline] = arg.split('=', 2);
    if (flag !== '--entries') throw new Error(`unknown argument ${arg}: the bench takes --entries N only`);
    const text = inline ?? rest.shift();
    entries = Number(text);
    if (!Number.isInteger(entries) || entries < 100)
      throw new Error(`--entries takes a whole number of at least 100 (one per namespace), not ${text}`);
  }
  return entries === undefined ? { kind: 'default' } : { kind: 'large', entries };
}
