/**
 * The method contract: every registered direction method, on synthetic
 * contrast activations whose pos − neg gap lies along a known direction,
 * returns a finite H-dimensional vector that points along it (cosine > 0.95),
 * oriented so the preferred side projects higher, and of unit norm when its
 * spec says so. A new method file is covered without a new test.
 */
import { describe, expect, it } from 'vitest';
import { BUILTIN_METHODS } from '../../src/vectors/methods.generated.js';
import { methodNames, methodSpec } from '../../src/vectors/methods.js';
import type { ContrastSamples } from '../../src/vectors/samples.js';

const H = 12;
const PAIRS = 24;

function synthetic(seed: number): { samples: ContrastSamples; truth: Float64Array } {
  let state = seed;
  const noise = () => { state = (state * 1103515245 + 12345) % 2147483648; return state / 2147483648 - 0.5; };
  const truth = new Float64Array(H);
  for (let h = 0; h < H; h++) truth[h] = noise();
  const norm = Math.hypot(...truth);
  for (let h = 0; h < H; h++) truth[h] = (truth[h] as number) / norm;
  const pos = new Float32Array(PAIRS * H);
  const neg = new Float32Array(PAIRS * H);
  for (let r = 0; r < PAIRS; r++) {
    const gap = 2 + noise();
    for (let h = 0; h < H; h++) {
      const base = 3 * noise();
      pos[r * H + h] = base + (gap / 2) * (truth[h] as number) + 0.05 * noise();
      neg[r * H + h] = base - (gap / 2) * (truth[h] as number) + 0.05 * noise();
    }
  }
  return { samples: { hidden: H, count: PAIRS, pos, neg, pair: Int32Array.from({ length: PAIRS }, (_, i) => i), pairs: PAIRS }, truth };
}

describe('direction-method contract', () => {
  it('every built-in method is registered', () => {
    expect(BUILTIN_METHODS.length).toBeGreaterThan(0);
    for (const m of BUILTIN_METHODS) expect(methodNames()).toContain(m.name);
  });

  for (const name of methodNames()) {
    it(`${name}: a finite ${H}-dim vector along the contrast, preferred side higher`, () => {
      const spec = methodSpec(name);
      for (const seed of [3, 11]) {
        const { samples, truth } = synthetic(seed);
        const v = spec.create()(samples);
        expect(v).toHaveLength(H);
        expect([...v].every(Number.isFinite)).toBe(true);
        const norm = Math.hypot(...v);
        let dot = 0;
        for (let h = 0; h < H; h++) dot += (v[h] as number) * (truth[h] as number);
        expect(dot / norm, `${name}, seed ${seed}`).toBeGreaterThan(0.95);
        if (spec.unitNorm) expect(norm).toBeCloseTo(1, 5);
      }
    });
  }
});
