import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');

const sourceFiles = (directory: string): string[] =>
  readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });

const files = sourceFiles(SRC);
const name = (path: string) => relative(SRC, path);

/**
 * Every module a file names: static, type-only, `export … from` and dynamic imports alike (a type-only
 * import still ties the two files together for a reader).
 */
const specifiers = (path: string): string[] => specifiersIn(readFileSync(path, 'utf8'));

const IMPORT_PATTERNS = [
  /^\s*(?:import|export)\b[^;]*?\bfrom\s*['"]([^'"]+)['"]/gm,
  /^\s*import\s*['"]([^'"]+)['"]/gm,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
];
const specifiersIn = (source: string): string[] =>
  IMPORT_PATTERNS.flatMap((pattern) => [...source.matchAll(pattern)].flatMap((match) => match[1] ?? []));

/** Imports inside src, as src-relative names; Trustline imports with the .ts extension. */
const graph = new Map(
  files.map((path) => [
    name(path),
    specifiers(path)
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => name(resolve(dirname(path), specifier))),
  ]),
);

/** The cycles of the graph, each once, as the path that closes it. */
function cycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const visit = (node: string, path: string[]) => {
    const at = path.indexOf(node);
    if (at >= 0) {
      found.push([...path.slice(at), node]);
      return;
    }
    if (done.has(node)) return;
    for (const next of edges.get(node) ?? []) visit(next, [...path, node]);
    done.add(node);
  };
  for (const node of edges.keys()) visit(node, []);
  return found;
}

const lineCount = (path: string) => readFileSync(path, 'utf8').trimEnd().split('\n').length;

describe('the layout of src', () => {
  it('finds a cycle when there is one', () => {
    const edges = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(cycles(edges)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
    expect(cycles(new Map([['a.ts', ['b.ts']]]))).toEqual([]);
  });

  it('reads type-only and re-exporting imports as imports', () => {
    const source = [
      "import type { A } from './a.ts';",
      'import {',
      '  type B,',
      '  c,',
      "} from './b.ts';",
      "export * from './c.ts';",
      "import './d.ts';",
      "const e = await import('./e.ts');",
      "const f = Buffer.from('text');",
    ].join('\n');
    expect(specifiersIn(source).sort()).toEqual(['./a.ts', './b.ts', './c.ts', './d.ts', './e.ts']);
  });

  it('resolves every import inside src to a file that exists', () => {
    const missing = [...graph].flatMap(([file, targets]) =>
      targets.filter((target) => !graph.has(target)).map((target) => `${file} -> ${target}`),
    );
    expect(missing).toEqual([]);
  });

  it('has no import cycle', () => {
    expect(cycles(graph).map((cycle) => cycle.join(' -> '))).toEqual([]);
  });

  it('keeps the core free of the shell: no src/kube, src/controllers or @kubernetes/client-node', () => {
    const shell = files
      .filter((path) => name(path).startsWith('core/'))
      .flatMap((path) =>
        specifiers(path)
          .filter(
            (specifier) =>
              specifier.startsWith('@kubernetes/client-node') ||
              (specifier.startsWith('.') &&
                /^(kube|controllers)\//.test(name(resolve(dirname(path), specifier)))),
          )
          .map((specifier) => `${name(path)} imports ${specifier}`),
      );
    expect(shell).toEqual([]);
  });

  it('keeps every file of src/controllers under 200 lines and of src/core under 350', () => {
    const limits: [string, number][] = [
      ['controllers/', 200],
      ['core/', 350],
    ];
    const over = files.flatMap((path) => {
      const limit = limits.find(([prefix]) => name(path).startsWith(prefix))?.[1];
      const lines = lineCount(path);
      return limit !== undefined && lines > limit ? [`${name(path)}: ${lines} lines (limit ${limit})`] : [];
    });
    expect(over).toEqual([]);
  });
});
