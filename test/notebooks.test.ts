/**
 * The committed notebooks carry their executed outputs (CI re-executes them;
 * GitHub shows what is saved): every code cell ran without an error, and every
 * chart is one output with both the vega-lite spec and its SVG rendering.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

interface Output { output_type: string; data?: Record<string, unknown> }
interface Cell { cell_type: string; outputs?: Output[]; source: string[] | string }

const DIR = join(import.meta.dirname, '..', 'notebooks');
const notebooks = readdirSync(DIR).filter((f) => f.endsWith('.ipynb')).sort();

describe('notebooks', () => {
  it('are there', () => expect(notebooks.length).toBeGreaterThanOrEqual(3));

  it.each(notebooks)('%s is saved executed, without errors, charts as vega-lite and SVG', (name) => {
    const nb = JSON.parse(readFileSync(join(DIR, name), 'utf8')) as { cells: Cell[]; metadata: { kernelspec?: { name?: string } } };
    expect(nb.metadata.kernelspec?.name).toBe('tslab');
    const code = nb.cells.filter((c) => c.cell_type === 'code');
    expect(code.length).toBeGreaterThan(0);
    for (const c of code) expect((c.outputs ?? []).filter((o) => o.output_type === 'error')).toEqual([]);
    expect(code.some((c) => (c.outputs ?? []).length > 0)).toBe(true);
    for (const o of code.flatMap((c) => c.outputs ?? [])) {
      const mimes = Object.keys(o.data ?? {});
      if (mimes.some((m) => m.startsWith('application/vnd.vegalite'))) expect(mimes).toContain('image/svg+xml');
    }
  });
});
