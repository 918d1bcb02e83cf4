import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Matrix } from 'ml-matrix';
import { ShapeMismatchError } from '../../src/errors.js';
import { Rng } from '../../src/math/rng.js';
import { cosine, cosineMatrix } from '../../src/utilities/cosine.js';
import { hiddenUtility } from '../../src/utilities/kinds/embedding.js';

function randomVectors(n: number, dim: number, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: dim }, () => rng.next() * 2 - 1));
}

describe('cosine', () => {
  it('hand-computed values', () => {
    expect(cosine([1, 0], [0, 1])).toBe(0);
    expect(cosine([1, 1], [2, 2])).toBeCloseTo(1, 15);
    expect(cosine([3, 4], [-3, -4])).toBeCloseTo(-1, 15);
    expect(cosine([1, 2, 3], [4, 5, 6])).toBeCloseTo(32 / Math.sqrt(14 * 77), 15);
    expect(cosine([0, 0], [1, 2])).toBe(0);
    expect(() => cosine([1], [1, 2])).toThrow(ShapeMismatchError);
  });
});

describe('cosineMatrix', () => {
  it('equals the product of the row-normalised matrix with its transpose (ml-matrix)', () => {
    const vs = randomVectors(17, 33, 1);
    const m = cosineMatrix(vs);
    const X = new Matrix(vs.map((v) => { const n = Math.hypot(...v); return Array.from(v, (x) => x / n); }));
    const G = X.mmul(X.transpose());
    let maxDiff = 0;
    for (let i = 0; i < 17; i++) for (let j = 0; j < 17; j++) maxDiff = Math.max(maxDiff, Math.abs(m[i * 17 + j]! - G.get(i, j)));
    expect(maxDiff).toBeLessThan(1e-12);
  });

  it('is symmetric with a unit diagonal and matches pairwise cosines (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 9 }), fc.integer(), (n, dim, seed) => {
      const vs = randomVectors(n, dim, seed);
      const m = cosineMatrix(vs);
      for (let i = 0; i < n; i++) {
        expect(m[i * n + i]).toBeCloseTo(1, 12);
        for (let j = 0; j < n; j++) {
          expect(m[i * n + j]).toBe(m[j * n + i]);
          expect(m[i * n + j]).toBeCloseTo(cosine(vs[i]!, vs[j]!), 12);
        }
      }
    }), { numRuns: 50 });
  });

  it('accepts packed rows and writes into a reused buffer', () => {
    const vs = randomVectors(5, 8, 2);
    const data = new Float32Array(40);
    vs.forEach((v, i) => data.set(v, i * 8));
    const out = new Float64Array(25).fill(7);
    const m = cosineMatrix({ data, count: 5, dim: 8 }, out);
    expect(m).toBe(out);
    expect([...m]).toEqual([...cosineMatrix(vs)]);
    expect(() => cosineMatrix(vs, new Float64Array(24))).toThrow(ShapeMismatchError);
    expect(() => cosineMatrix([new Float32Array(2), new Float32Array(3)])).toThrow(ShapeMismatchError);
  });

  it('gives a zero vector cosine 0 with everything', () => {
    const m = cosineMatrix([[0, 0], [1, 0]]);
    expect([...m]).toEqual([0, 0, 0, 1]);
  });
});

describe('hidden utility', () => {
  it('reads pooled activations at its site', async () => {
    const u = hiddenUtility('blocks.1.hook_resid_post');
    const vs = randomVectors(4, 16, 3);
    const items = vs.map((v) => ({ response: '', activations: { 'blocks.1.hook_resid_post': v } }));
    expect([...(await u.matrix(items))]).toEqual([...cosineMatrix(vs)]);
    expect(u.sites).toEqual(['blocks.1.hook_resid_post']);
    await expect(u.matrix([{ response: 'x' }])).rejects.toThrow(/candidate 0 has no activations at blocks.1.hook_resid_post/);
  });
});
