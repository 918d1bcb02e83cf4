/** House rules checked on the source tree: small modules (~300 lines is a smell; 350 is the hard cap). */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers/paths.js';

const MAX_LINES = 350;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : [];
  });
}

describe('modules', () => {
  it(`stay under ${MAX_LINES} lines`, () => {
    const over = sources(join(REPO, 'src'))
      .map((path) => ({ path: relative(REPO, path), lines: readFileSync(path, 'utf8').split('\n').length }))
      .filter((m) => m.lines > MAX_LINES);
    expect(over).toEqual([]);
  });
});
