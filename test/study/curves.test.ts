/** The pure stages of the study on synthetic pools: calibration, curves on nested sub-pools, KL, verdicts. */
import { describe, expect, it } from 'vitest';
import { selectFromPool } from '../../src/ab/pool-selection.js';
import type { Pool } from '../../src/ab/pool.js';
import { betaScale, calibrateSelector, regulariser } from '../../src/study/calibrate.js';
import { armLabel, pairedDifference, powersOfTwo, proxyCurves } from '../../src/study/curves.js';
import { poolFor, type LadderPool } from '../../src/study/pools.js';
import { proxyVerdict } from '../../src/study/verdict.js';
import { fakePool, uniform } from '../ab/helpers.js';

/**
 * A pool where the proxy is gamed: candidates 0..3 are honest (proxy ≈ gold,
 * alike each other: u = 0.9), 4..7 score higher on the proxy but low on gold
 * (and are unlike everything: u = 0); BoN reaches them only once N > 4.
 */
function gamed(seed: number): Pool {
  const r = uniform(seed);
  const cands = Array.from({ length: 8 }, (_, i) => {
    const honest = i < 4;
    const proxy = honest ? 0.2 * i + 0.1 * r() : 1 + 0.2 * i + 0.1 * r();
    return { proxy, gold: honest ? proxy : -0.5 - 0.1 * r(), refLogprob: honest ? -10 - r() : -30 - r() };
  });
  const u = cands.map((_, i) => cands.map((__, j) => (i === j ? 1 : i < 4 && j < 4 ? 0.9 : 0)));
  return fakePool(cands, u);
}

describe('study calibration', () => {
  it('scales the grid by sd(proxy)/sd(regulariser) and picks the β with the best dev gold at N_max', () => {
    const pools = [1, 2, 3, 4].map(gamed);
    const s = betaScale(pools, 'kl-bon');
    const sd = (v: number[]) => { const m = v.reduce((a, b) => a + b, 0) / v.length; return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1)); };
    const expected = pools.reduce((a, p) => a + sd(p.candidates.map((c) => c.proxy as number)), 0) / pools.reduce((a, p) => a + sd(p.candidates.map((c) => c.refLogprob)), 0);
    expect(s).toBeCloseTo(expected, 12);
    expect(regulariser(pools[0] as Pool, 'mbr-bon', [0, 4])).toEqual([0.5, 0.5]);
    for (const sel of ['mbr-bon', 'kl-bon'] as const) {
      const cal = calibrateSelector(pools, sel, [1, 2, 4, 8], [0, 0.1, 1, 10]);
      expect(cal.betas).toEqual(cal.relative.map((c) => c * cal.scale));
      expect(cal.meanGold).toHaveLength(4);
      expect(cal.meanGold[0]?.[3]).toBeLessThan(0); // β = 0 is BoN: it takes the gamed candidates at N = 8
      expect(cal.chosen.relative).toBeGreaterThan(0);
      expect(cal.chosen.meanGold).toBeGreaterThan(0);
    }
  });
});

describe('study curves', () => {
  const pools = [1, 2, 3, 4, 5, 6].map(gamed);
  const dev = [11, 12, 13].map(gamed);
  const ns = powersOfTwo(8);
  const cal = { reference: [calibrateSelector(dev, 'mbr-bon', ns, [0, 1, 10]), calibrateSelector(dev, 'kl-bon', ns, [0, 1, 10])] };
  const points = proxyCurves('p', { reference: pools }, ns, cal, { klResamples: 200, bootstrapResamples: 200 });

  it('has every arm at every N, picks from the first N candidates, and matches a fresh pool of those candidates', () => {
    expect(ns).toEqual([1, 2, 4, 8]);
    expect(points).toHaveLength((1 + 3 + 3) * ns.length);
    for (const p of points) {
      pools.forEach((pool, k) => {
        const c = p.chosen[k] as number;
        expect(c).toBeLessThan(p.n);
        // the same selector on a pool made of only the first N candidates (and the top-left block of u)
        const m = pool.candidates.length;
        const fresh = fakePool(pool.candidates.slice(0, p.n).map((x) => ({ proxy: x.proxy, gold: x.gold, refLogprob: x.refLogprob })),
          Array.from({ length: p.n }, (_, i) => Array.from({ length: p.n }, (__, j) => pool.utility[i * m + j] as number)));
        expect(selectFromPool(fresh, { method: p.selector, n: p.n, needGold: true, ...(p.beta !== null ? { beta: p.beta } : {}) }).chosen).toBe(c);
        expect(p.goldPerPrompt[k]).toBe(pool.candidates[c]?.gold);
      });
    }
    const bon = points.filter((p) => p.selector === 'bon');
    expect(bon.map((p) => p.chosen[0])).toEqual([0, 1, 3, 7]);
    expect(bon.map((p) => p.kl?.analytic)).toEqual(ns.map((n) => Math.log(n) - (n - 1) / n));
    expect(bon[0]?.kl?.plugin).toBe(0);
    // plug-in KL of BoN with distinct rewards: Σ p_k log(M p_k), p_k = (k/M)^N − ((k−1)/M)^N; within resampling noise
    const m = 8; const n = 8;
    let exact = 0;
    for (let k = 1; k <= m; k++) { const pk = (k / m) ** n - ((k - 1) / m) ** n; if (pk > 0) exact += pk * Math.log(m * pk); }
    expect(bon[3]?.kl?.plugin).toBeGreaterThan(exact - 0.15);
    expect(bon[3]?.kl?.plugin).toBeLessThan(exact + 0.15);
    expect(points.filter((p) => !p.calibrated).every((p) => p.kl === null)).toBe(true);
    expect(armLabel({ policy: 'steered', selector: 'kl-bon', relative: 0.3 })).toBe('steer + KL-BoN c=0.3');
  });

  it('the verdict sees BoN peak and fall and the calibrated regularisers stay above it', () => {
    const v = proxyVerdict(points, 'p', 'reference', null);
    expect(v?.bon.peakN).toBe(4);
    expect(v?.bon.falls).toBe(true);
    expect(v?.outcome).toBe('reproduces');
    for (const r of v?.regularised ?? []) {
      expect(r.relative).toBeGreaterThan(0);
      expect(r.vsBonAtNMax?.lo).toBeGreaterThan(0);
      expect(r.above).toContain(8);
      expect(r.below).toEqual([]);
    }
    expect(v?.text).toMatch(/peak of .* at N = 4 .* a fall beyond noise/);
    expect(v?.text).toMatch(/Verdict: reproduces\./);
  });

  it('with an honest proxy the verdict finds no overoptimization', () => {
    const honest = pools.map((p) => fakePool(p.candidates.map((c) => ({ proxy: c.gold, gold: c.gold, refLogprob: c.refLogprob })), Array.from({ length: 8 }, (_, i) => Array.from({ length: 8 }, (__, j) => p.utility[i * 8 + j] as number))));
    const pts = proxyCurves('g', { reference: honest }, ns, { reference: [calibrateSelector(honest, 'mbr-bon', ns, [0, 1])] }, { klResamples: 50, bootstrapResamples: 200 });
    const v = proxyVerdict(pts, 'g', 'reference', null);
    expect(v?.bon.falls).toBe(false);
    expect(v?.regularised[0]?.relative).toBe(0);
    expect(v?.outcome).toBe('no overoptimization');
  });

  it('pairs differences by prompt and skips missing picks', () => {
    const d = pairedDifference([1, 2, null, 4], [0, 1, 5, null], 0, 100);
    expect(d?.mean).toBe(1);
    expect(d?.n).toBe(2);
  });
});

describe('ladder pools', () => {
  it('gives one ordinary pool per proxy, sharing the utility matrix', () => {
    const base = gamed(1);
    const lp: LadderPool = { pool: base, rewards: { a: base.candidates.map((_, i) => i), g: base.candidates.map((_, i) => (i === 2 ? null : -i)) }, invalid: [] };
    const view = poolFor(lp, 'a', 'g');
    expect(view.utility).toBe(base.utility);
    expect(view.candidates.map((c) => c.proxy)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(view.candidates[2]?.gold).toBeNull();
    expect(selectFromPool(view, { method: 'bon', n: 4, needGold: true }).subset).toEqual([0, 1, 3]);
    expect(() => poolFor(lp, 'missing', 'g')).toThrow(/no reward "missing"/);
  });
});
