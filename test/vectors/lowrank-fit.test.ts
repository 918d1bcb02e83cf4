/** Reduced-rank ridge fits on synthetic data with a known map. */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { Rng } from '../../src/math/rng.js';
import { fitLowRankMap, type LowRankData } from '../../src/vectors/lowrank-fit.js';

const H = 24;

function gauss(rng: Rng): number {
  const u = Math.max(rng.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** δ = b + (x·V)·Uᵀ + noise, x ~ N(μ, I), rank `rank`, `pairs` groups of `per` rows. */
function synthetic(rank: number, noise: number, pairs = 40, per = 6, seed = 1): LowRankData & { v: Float64Array; u: Float64Array; b: Float64Array } {
  const rng = new Rng(seed);
  const v = Float64Array.from({ length: H * rank }, () => gauss(rng) / Math.sqrt(H));
  const u = Float64Array.from({ length: H * rank }, () => gauss(rng));
  const b = Float64Array.from({ length: H }, () => gauss(rng));
  const count = pairs * per;
  const x = new Float32Array(count * H);
  const y = new Float32Array(count * H);
  const group = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    group[n] = Math.floor(n / per);
    for (let h = 0; h < H; h++) x[n * H + h] = 3 + gauss(rng);
    const xv = new Float64Array(rank);
    for (let c = 0; c < rank; c++) for (let h = 0; h < H; h++) xv[c] = xv[c]! + x[n * H + h]! * v[h * rank + c]!;
    for (let j = 0; j < H; j++) {
      let s = b[j]!;
      for (let c = 0; c < rank; c++) s += xv[c]! * u[j * rank + c]!;
      y[n * H + j] = s + noise * gauss(rng);
    }
  }
  return { hidden: H, count, x, y, group, pairs, v, u, b };
}

function predict(res: ReturnType<typeof fitLowRankMap>, x: ArrayLike<number>): Float64Array {
  const { rank, v, u } = res.map;
  const out = new Float64Array(H);
  const xv = new Float64Array(rank);
  for (let c = 0; c < rank; c++) for (let h = 0; h < H; h++) xv[c] = xv[c]! + x[h]! * v[h * rank + c]!;
  for (let j = 0; j < H; j++) { let s = res.bias[j]!; for (let c = 0; c < rank; c++) s += xv[c]! * u[j * rank + c]!; out[j] = s; }
  return out;
}

describe('fitLowRankMap', () => {
  it('finds the true rank of a noisy rank-3 map and reproduces it; the constant predictor explains nothing', () => {
    const d = synthetic(3, 0.1);
    const res = fitLowRankMap(d, { ranks: [1, 2, 3, 4, 8], folds: 5 });
    expect(res.fit.rank).toBe(3);
    expect(res.fit.r2).toBeGreaterThan(0.97);
    expect(res.fit.r2Constant).toBeLessThanOrEqual(0);
    expect(res.fit.r2Constant).toBeGreaterThan(-0.1);
    expect(res.grid).toHaveLength(5 * 6);
    // Lower ranks fit worse, held out.
    const at = (r: number) => Math.max(...res.grid.filter((g) => g.rank === r).map((g) => g.r2));
    expect(at(1)).toBeLessThan(at(2));
    expect(at(2)).toBeLessThan(at(3));
    // On a fresh input, the map predicts the true δ.
    const x = Float64Array.from({ length: H }, (_, i) => 3 + Math.sin(i));
    const truth = new Float64Array(H);
    const xv = [0, 1, 2].map((c) => Array.from(x).reduce((s, xi, h) => s + xi * d.v[h * 3 + c]!, 0));
    for (let j = 0; j < H; j++) truth[j] = d.b[j]! + xv.reduce((s, a, c) => s + a * d.u[j * 3 + c]!, 0);
    const got = predict(res, x);
    const err = Math.hypot(...Array.from(got, (g, j) => g - truth[j]!)) / Math.hypot(...truth);
    expect(err).toBeLessThan(0.03);
  });

  it('a pure constant shift: no map beats the mean, and the intercept is the mean difference', () => {
    const rng = new Rng(5);
    const count = 200;
    const d: LowRankData = {
      hidden: H, count, pairs: 50, group: Int32Array.from({ length: count }, (_, i) => i % 50),
      x: Float32Array.from({ length: count * H }, () => gauss(rng)),
      y: Float32Array.from({ length: count * H }, (_, k) => (k % H) * 0.1 + 0.5 * gauss(rng)),
    };
    const res = fitLowRankMap(d, { ranks: [1, 2] });
    expect(res.fit.r2).toBeLessThan(0.02);
    expect(res.fit.r2).toBeGreaterThan(res.fit.r2Constant - 0.01);
    // Heavy λ wins: the map shrinks toward 0 and the bias toward ȳ.
    expect(res.fit.lambdaScale).toBeGreaterThanOrEqual(1);
    for (let j = 0; j < H; j++) expect(Math.abs(res.bias[j]! - j * 0.1)).toBeLessThan(0.2);
  });

  it('without an intercept, an exact linear map is recovered at rank 2', () => {
    const d = synthetic(2, 0, 20, 5, 9);
    // Remove the bias: y = (xV)Uᵀ exactly.
    for (let n = 0; n < d.count; n++) for (let j = 0; j < H; j++) d.y[n * H + j] = d.y[n * H + j]! - d.b[j]!;
    const res = fitLowRankMap(d, { ranks: [1, 2, 3], intercept: false, lambdaScales: [1e-6, 1e-3] });
    expect(res.fit.rank).toBeGreaterThanOrEqual(2);
    expect(res.fit.r2).toBeGreaterThan(0.999);
    expect(Array.from(res.bias).every((b) => b === 0)).toBe(true);
  });

  it('refuses r ≥ hidden, a single pair, and constant differences', () => {
    const d = synthetic(1, 0.1, 4, 3);
    expect(() => fitLowRankMap(d, { ranks: [H] })).toThrow(InvalidArgumentError);
    expect(() => fitLowRankMap(d, { ranks: [H] })).toThrow(/below the hidden size 24/);
    expect(() => fitLowRankMap({ ...d, pairs: 1, group: new Int32Array(d.count) })).toThrow(/at least two pairs/);
    expect(() => fitLowRankMap({ ...d, y: new Float32Array(d.count * H).fill(1) })).toThrow(/nothing for a low-rank map/);
  });
});
