/**
 * House rule checked on the source tree: data flows one way between the
 * folders of src/. The file-level rule (eslint import-x/no-cycle) misses a
 * folder cycle made of files that do not form one (a → b in one pair of
 * files, b → a in another), so this test builds the folder graph from every
 * relative import, type-only imports and re-exports included, and fails on
 * any cycle. A top-level file (src/errors.ts, src/index.ts) is its own node.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers/paths.js';

const SRC = join(REPO, 'src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : [];
  });
}

/** The folder of src/ a file belongs to (a top-level file is its own node). */
function folderOf(file: string): string {
  return relative(SRC, file).split(sep)[0] ?? file;
}

/** Folder edges a → b, each with the first import that makes it. */
function folderGraph(files: readonly string[]): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of files) {
    const from = folderOf(file);
    const edges = graph.get(from) ?? new Map<string, string>();
    graph.set(from, edges);
    for (const ref of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
      if (!ref.fileName.startsWith('.')) continue;
      const to = folderOf(resolve(dirname(file), ref.fileName).replace(/\.js$/, '.ts'));
      if (to !== from && !edges.has(to)) edges.set(to, `${relative(REPO, file)} imports ${ref.fileName}`);
    }
  }
  return graph;
}

/** The strongly connected components of more than one node (Tarjan), each listed with the edges inside it. */
function cycles(graph: ReadonlyMap<string, ReadonlyMap<string, string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v) ?? 0);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string | undefined;
    do {
      w = stack.pop();
      if (w === undefined) break;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) {
      const members = new Set(component);
      found.push(component.flatMap((a) => [...(graph.get(a) ?? [])].filter(([b]) => members.has(b)).map(([b, why]) => `${a} → ${b} (${why})`)).sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('folders of src/', () => {
  it('import each other without cycles (type-only imports included)', () => {
    expect(cycles(folderGraph(sources(SRC)))).toEqual([]);
  });

  it('the cycle finder reports a folder cycle made of type-only imports', () => {
    const graph = new Map([
      ['a', new Map([['b', 'a/x.ts imports ../b/y.js']])],
      ['b', new Map([['c', 'b/z.ts imports ../c/w.js']])],
      ['c', new Map([['a', 'c/w.ts imports type ../a/v.js']])],
      ['d', new Map([['a', 'd/u.ts imports ../a/x.js']])],
    ]);
    expect(cycles(graph)).toEqual([['a → b (a/x.ts imports ../b/y.js)', 'b → c (b/z.ts imports ../c/w.js)', 'c → a (c/w.ts imports type ../a/v.js)']]);
    expect(ts.preProcessFile("import type { T } from '../a/v.js';\nexport { U } from './u.js';", true, true).importedFiles.map((f) => f.fileName)).toEqual(['../a/v.js', './u.js']);
  });
});
