/**
 * The utility contract: one row per registered MBR utility, with a spec as
 * its usage documents it and three candidates where the first two are near
 * paraphrases and the third is unrelated. Every utility must return a finite
 * N×N matrix within its declared bounds, symmetric when it says so, with
 * u(a, b) > u(a, c). A new kind without a row fails the first test.
 */
import { describe, expect, it } from 'vitest';
import { parseUtility } from '../../src/utilities/parse.js';
import { utilityKinds } from '../../src/utilities/registry.js';
import type { UtilityItem } from '../../src/utilities/types.js';

const site = 'blocks.0.hook_resid_post';
const texts = ['The cat sat quietly on the warm mat.', 'The cat sat on the warm mat, quietly.', 'Stock prices fell sharply in Tokyo today.'];
const acts = [[1, 0.2, 0], [0.9, 0.3, 0.1], [-0.2, 0, 1]];
const items: UtilityItem[] = texts.map((response, i) => ({ response, activations: { [site]: Float32Array.from(acts[i] ?? []) } }));

const ROWS: { kind: string; spec: string }[] = [
  { kind: 'hidden', spec: `hidden:${site}` },
  { kind: 'minilm', spec: 'minilm' },
  { kind: 'rouge-l', spec: 'rouge-l' },
  { kind: 'chrf', spec: 'chrf' },
];

describe('utility contract', () => {
  it('has a row for every registered kind', () => {
    expect(ROWS.map((r) => r.kind).sort()).toEqual(utilityKinds().map((k) => k.name).sort());
  });

  for (const row of ROWS) {
    it(`${row.kind}: ${row.spec} gives a bounded matrix that ranks the paraphrase closer`, async () => {
      const u = parseUtility(row.spec);
      expect(u.kind).toBe(row.kind);
      const m = await u.matrix(items);
      const N = items.length;
      expect(m).toHaveLength(N * N);
      const [lo, hi] = u.bounds;
      for (const v of m) { expect(Number.isFinite(v)).toBe(true); expect(v).toBeGreaterThanOrEqual(lo - 1e-9); expect(v).toBeLessThanOrEqual(hi + 1e-9); }
      if (u.symmetric) for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) expect(m[i * N + j]).toBeCloseTo(m[j * N + i] as number, 9);
      expect(m[1] as number).toBeGreaterThan(m[2] as number);
    }, 60_000);
  }
});
