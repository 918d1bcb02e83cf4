import { describe, expect, it } from 'vitest';
import { Rng, rowSeed } from '../../src/math/rng.js';

describe('Rng', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = new Rng(42); const b = new Rng(42); const c = new Rng(43);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xs);
  });

  it('produces uniform floats in [0, 1)', () => {
    const r = new Rng(7);
    const bins = new Array<number>(10).fill(0);
    const N = 100_000;
    for (let i = 0; i < N; i++) {
      const u = r.next();
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      bins[Math.floor(u * 10)]! += 1;
    }
    // Chi-square with 9 dof: 99.9th percentile is 27.9.
    const chi = bins.reduce((s, o) => s + (o - N / 10) ** 2 / (N / 10), 0);
    expect(chi).toBeLessThan(27.9);
  });

  it('derives row seeds: row 0 is the seed itself, others distinct', () => {
    expect(rowSeed(123, 0)).toBe(123);
    const seeds = new Set(Array.from({ length: 64 }, (_, k) => rowSeed(123, k)));
    expect(seeds.size).toBe(64);
    expect(rowSeed(123, 5)).toBe(rowSeed(123, 5));
    expect(rowSeed(124, 5)).not.toBe(rowSeed(123, 5));
  });
});
