import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { Rng } from '../../src/math/rng.js';
import { bonKlBound, distinctN, klMonteCarlo, meanCI, perplexity, winRate } from '../../src/selection/stats.js';

describe('meanCI', () => {
  const values = Array.from({ length: 100 }, (_, i) => i + 1);

  it('matches the normal-approximation interval on 1..100', () => {
    // mean 50.5, sd 29.011, se 2.9011: 95% ≈ 50.5 ± 5.69
    const ci = meanCI(values, { seed: 3, resamples: 4000 });
    expect(ci.mean).toBe(50.5);
    expect(ci.lo).toBeGreaterThan(44.8 - 0.8);
    expect(ci.lo).toBeLessThan(44.8 + 0.8);
    expect(ci.hi).toBeGreaterThan(56.2 - 0.8);
    expect(ci.hi).toBeLessThan(56.2 + 0.8);
    expect(ci.n).toBe(100);
  });

  it('is reproducible for a seed and differs across seeds', () => {
    expect(meanCI(values, { seed: 1 })).toEqual(meanCI(values, { seed: 1 }));
    expect(meanCI(values, { seed: 1 }).lo).not.toBe(meanCI(values, { seed: 2 }).lo);
  });

  it('handles one value and rejects NaN with its index', () => {
    expect(meanCI([2])).toMatchObject({ mean: 2, lo: 2, hi: 2 });
    expect(() => meanCI([1, NaN])).toThrow(/values\[1\] is NaN/);
    expect(() => meanCI([])).toThrow(InvalidArgumentError);
    expect(() => meanCI([1], { confidence: 1 })).toThrow(InvalidArgumentError);
  });
});

describe('winRate', () => {
  it('counts wins, ties (½) and losses per prompt', () => {
    const w = winRate([1, 2, 3, 4], [0, 2, 5, 1]);
    expect(w).toMatchObject({ wins: 2, ties: 1, losses: 1, mean: 0.625, n: 4 });
    expect(w.lo).toBeLessThanOrEqual(0.625);
    expect(w.hi).toBeGreaterThanOrEqual(0.625);
    expect(winRate([1, 1.05], [1, 1], { tieTolerance: 0.1 }).ties).toBe(2);
    expect(() => winRate([1], [1, 2])).toThrow(InvalidArgumentError);
  });
});

describe('distinctN', () => {
  it('is unique n-grams over all n-grams', () => {
    const texts = ['The cat the cat', 'the dog'];
    expect(distinctN(texts, 1)).toBe(3 / 6);
    expect(distinctN(texts, 2)).toBe(3 / 4);
    expect(distinctN([[1, 2, 1, 2], [3]], 2)).toBe(2 / 3);
    expect(distinctN(['a'], 2)).toBe(0);
    expect(() => distinctN(texts, 0)).toThrow(InvalidArgumentError);
  });
});

describe('perplexity', () => {
  it('is exp of the mean negative log-prob over all tokens', () => {
    // p = 0.5 · 0.25 · 0.5 = 1/16 over 3 tokens: 16^(1/3)
    expect(perplexity([[Math.log(0.5), Math.log(0.25)], [Math.log(0.5)]])).toBeCloseTo(16 ** (1 / 3), 12);
    expect(() => perplexity([[0.1]])).toThrow(/log-prob 0.1/);
    expect(() => perplexity([[]])).toThrow(/no tokens/);
  });
});

describe('KL estimates', () => {
  it('k1 and k3 follow their formulas', () => {
    // log ρ = ref − policy = [−0.5, 1]
    expect(klMonteCarlo([-1, -2], [-1.5, -1], 'k1').estimate).toBeCloseTo(-0.25, 12);
    expect(klMonteCarlo([-1, -2], [-1.5, -1], 'k3').estimate).toBeCloseTo((Math.expm1(-0.5) + 0.5 + Math.expm1(1) - 1) / 2, 12);
  });

  it('estimates a known KL from samples', () => {
    // π = [0.5, 0.5], π_ref = [0.9, 0.1]: KL = 0.5 ln(0.5/0.9) + 0.5 ln(0.5/0.1)
    const exact = 0.5 * Math.log(0.5 / 0.9) + 0.5 * Math.log(5);
    const rng = new Rng(5);
    const pol: number[] = [];
    const ref: number[] = [];
    for (let k = 0; k < 20_000; k++) {
      const y = rng.next() < 0.5 ? 0 : 1;
      pol.push(Math.log(0.5));
      ref.push(Math.log(y === 0 ? 0.9 : 0.1));
    }
    for (const est of ['k1', 'k3'] as const) {
      const r = klMonteCarlo(pol, ref, est);
      expect(Math.abs(r.estimate - exact)).toBeLessThan(4 * r.stderr);
    }
    expect(() => klMonteCarlo([1], [1, 2])).toThrow(InvalidArgumentError);
  });

  it('the BoN bound is log N − (N−1)/N and bounds the exact BoN KL', () => {
    expect(bonKlBound(1)).toBe(0);
    expect(bonKlBound(4)).toBeCloseTo(Math.log(4) - 0.75, 12);
    // Exact KL of best-of-N over M equally likely outcomes with distinct rewards:
    // P(rank i) = (i/M)^N − ((i−1)/M)^N, KL = Σ P_i log(P_i·M).
    for (const [M, N] of [[10_000, 8], [5, 8]] as const) {
      let kl = 0;
      for (let i = 1; i <= M; i++) {
        const p = (i / M) ** N - ((i - 1) / M) ** N;
        if (p > 0) kl += p * Math.log(p * M);
      }
      expect(kl).toBeLessThanOrEqual(bonKlBound(N) + 1e-12);
      if (M === 10_000) expect(bonKlBound(N) - kl).toBeLessThan(1e-3);
      else expect(bonKlBound(N) - kl).toBeGreaterThan(0.1);
    }
    expect(() => bonKlBound(0)).toThrow(InvalidArgumentError);
  });
});
