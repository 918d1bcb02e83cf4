import { Matrix, SVD } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { meanDiff, methodNames, methodSpec, pcaCenter, pcaDiff, probe, registerMethod } from '../../src/vectors/methods.js';
import type { ContrastSamples } from '../../src/vectors/samples.js';

/** Deterministic pseudo-random numbers in [−1, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 31 - 1; };
}

/** n pairs in H dims: a shared concept direction with varying size plus noise. */
function synthetic(n: number, H: number, seed = 1): ContrastSamples {
  const r = lcg(seed);
  const concept = Array.from({ length: H }, () => r());
  const pos = new Float32Array(n * H);
  const neg = new Float32Array(n * H);
  for (let i = 0; i < n; i++) {
    const size = 1 + r();
    for (let h = 0; h < H; h++) {
      const base = 3 * r();
      neg[i * H + h] = base + 0.5 * r();
      pos[i * H + h] = base + size * (concept[h] as number) + 0.5 * r();
    }
  }
  return { hidden: H, count: n, pos, neg, pair: Int32Array.from({ length: n }, (_, i) => i), pairs: n };
}

function swap(s: ContrastSamples): ContrastSamples {
  return { ...s, pos: s.neg, neg: s.pos };
}

/** The top right singular vector of `rows` after centring, oriented like `like`. */
function svdReference(rows: number[][], like: Float32Array): number[] {
  const X = new Matrix(rows);
  const means = X.mean('column');
  for (let i = 0; i < X.rows; i++) for (let j = 0; j < X.columns; j++) X.set(i, j, X.get(i, j) - (means[j] as number));
  const v = new SVD(X, { computeLeftSingularVectors: false, autoTranspose: true }).rightSingularVectors.getColumn(0);
  const sign = v.reduce((a, x, i) => a + x * (like[i] as number), 0) >= 0 ? 1 : -1;
  return v.map((x) => sign * x);
}

function diffs(s: ContrastSamples): number[][] {
  return Array.from({ length: s.count }, (_, i) => Array.from({ length: s.hidden }, (_, h) => (s.pos[i * s.hidden + h] as number) - (s.neg[i * s.hidden + h] as number)));
}

const s = synthetic(40, 6);

describe('meanDiff', () => {
  it('is the mean of the differences, unnormalised', () => {
    const v = meanDiff()(s);
    const byHand = new Array<number>(6).fill(0);
    for (const d of diffs(s)) d.forEach((x, h) => { byHand[h] = (byHand[h] as number) + x / 40; });
    byHand.forEach((x, h) => expect(v[h]).toBeCloseTo(x, 5));
  });
});

describe('pcaDiff and pcaCenter', () => {
  it('pca-diff is the first principal component of the centred differences (SVD reference)', () => {
    const v = pcaDiff()(s);
    const ref = svdReference(diffs(s), v);
    ref.forEach((x, h) => expect(Math.abs((v[h] as number) - x)).toBeLessThan(1e-6));
    expect(Math.hypot(...v)).toBeCloseTo(1, 6);
  });

  it('pca-center is the first principal component of the midpoint-centred rows (SVD reference)', () => {
    const v = pcaCenter()(s);
    const rows = diffs(s).flatMap((d) => [d.map((x) => x / 2), d.map((x) => -x / 2)]);
    const ref = svdReference(rows, v);
    ref.forEach((x, h) => expect(Math.abs((v[h] as number) - x)).toBeLessThan(1e-6));
  });
});

describe('probe', () => {
  // 40 pairs in 6 dimensions solves Newton steps in the primal, 10 pairs in 30 dimensions in the dual.
  it.each([[40, 6], [10, 30]])('returns the minimiser of the L2-regularised logistic loss with %i pairs in %i dimensions (stationarity)', (pairs, dims) => {
    const s = synthetic(pairs, dims, 3);
    const C = 1;
    const u = probe({ C })(s);
    // At the optimum w = t·u:  w = 2C Σ σ(−w·x) x  with x = (pos − neg)/2.
    const xs = diffs(s).map((d) => d.map((x) => x / 2));
    const g = (t: number) => {
      const out = new Array<number>(dims).fill(0);
      for (const x of xs) {
        const z = t * x.reduce((a, xi, h) => a + xi * (u[h] as number), 0);
        const k = (2 * C) / (1 + Math.exp(z));
        x.forEach((xi, h) => { out[h] = (out[h] as number) + k * xi; });
      }
      return out;
    };
    let lo = 0;
    let hi = 1e4;
    for (let i = 0; i < 200; i++) {
      const t = (lo + hi) / 2;
      const along = g(t).reduce((a, x, h) => a + x * (u[h] as number), 0);
      if (along > t) lo = t; else hi = t;
    }
    const t = (lo + hi) / 2;
    const residual = Math.hypot(...g(t).map((x, h) => x - t * (u[h] as number)));
    expect(t).toBeGreaterThan(0.1);
    expect(residual / t).toBeLessThan(1e-6);
  });
});

describe('every method', () => {
  for (const name of ['mean-diff', 'pca-diff', 'pca-center', 'probe']) {
    it(`${name}: the preferred side projects higher, and swapping sides negates the direction`, () => {
      const make = methodSpec(name).create;
      const v = make()(s);
      const w = make()(swap(s));
      let wins = 0;
      for (const d of diffs(s)) if (d.reduce((a, x, h) => a + x * (v[h] as number), 0) > 0) wins++;
      expect(wins).toBeGreaterThan(30);
      v.forEach((x, h) => expect(w[h]).toBeCloseTo(-x, 5));
    });
  }

  it('lets new methods slot in', () => {
    registerMethod({ name: 'first-pair', description: 'test', unitNorm: false, create: () => (x) => x.pos.slice(0, x.hidden).map((p, h) => p - (x.neg[h] as number)) });
    expect(methodNames()).toContain('first-pair');
    expect(Array.from(methodSpec('first-pair').create()(s))).toEqual(diffs(s)[0]!.map(Math.fround));
    expect(() => methodSpec('nope')).toThrow(InvalidArgumentError);
    expect(() => registerMethod({ name: 'Bad Name', description: '', unitNorm: true, create: meanDiff })).toThrow(InvalidArgumentError);
  });
});
