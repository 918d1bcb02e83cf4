import { describe, expect, it } from 'vitest';
import { klBound, selectionKlPlugin } from '../../src/ab/kl.js';
import { selectFromPool, selectSubset, subMatrix } from '../../src/ab/pool-selection.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { fakePool, uniform } from './helpers.js';

/** argmax_i proxy_i + β·mean_j u_ij over `subset` (by hand, lowest index on ties). */
function byHand(proxy: number[], u: number[][], subset: number[], beta: number): number {
  let best = -1; let bestV = -Infinity;
  for (const i of subset) {
    const v = (proxy[i] as number) + beta * subset.reduce((s, j) => s + (u[i]?.[j] as number), 0) / subset.length;
    if (v > bestV) { bestV = v; best = i; }
  }
  return best;
}

function randomPool(m: number, seed: number) {
  const r = uniform(seed);
  const proxy = Array.from({ length: m }, () => r());
  const u = Array.from({ length: m }, () => new Array<number>(m).fill(0));
  for (let i = 0; i < m; i++) for (let j = i; j < m; j++) { const v = i === j ? 1 : r(); (u[i] as number[])[j] = v; (u[j] as number[])[i] = v; }
  return { proxy, u, pool: fakePool(proxy.map((p) => ({ proxy: p })), u) };
}

describe('selection on nested subsets', () => {
  it('MBR-BoN on the first N candidates matches argmax R + β·ū by hand', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const { proxy, u, pool } = randomPool(8, seed);
      for (const n of [1, 2, 4, 8]) {
        for (const beta of [0, 0.3, 1, 5]) {
          const sel = selectFromPool(pool, { method: 'mbr-bon', n, beta });
          const subset = Array.from({ length: n }, (_, i) => i);
          expect(sel.subset).toEqual(subset);
          expect(sel.chosen).toBe(byHand(proxy, u, subset, beta));
          expect(sel.objective).toHaveLength(n);
        }
        expect(selectFromPool(pool, { method: 'bon', n }).chosen).toBe(byHand(proxy, u, Array.from({ length: n }, (_, i) => i), 0));
      }
    }
  });

  it('a large β turns MBR-BoN into MBR, β = 0 into BoN', () => {
    const { pool } = randomPool(6, 7);
    expect(selectFromPool(pool, { method: 'mbr-bon', n: 6, beta: 1e9 }).chosen).toBe(selectFromPool(pool, { method: 'mbr', n: 6 }).chosen);
    expect(selectFromPool(pool, { method: 'mbr-bon', n: 6, beta: 0 }).chosen).toBe(selectFromPool(pool, { method: 'bon', n: 6 }).chosen);
  });

  it('drops candidates with an invalid reward before selecting, and averages ū over the rest', () => {
    const u = [[1, 0.9, 0], [0.9, 1, 0.1], [0, 0.1, 1]];
    const pool = fakePool([{ proxy: 0.1 }, { proxy: null }, { proxy: 0.2, gold: null }], u);
    const sel = selectFromPool(pool, { method: 'mbr-bon', n: 3, beta: 1 });
    expect(sel.subset).toEqual([0, 2]);
    expect(sel.meanUtility).toEqual([0.5, 0.5]);
    expect(sel.chosen).toBe(2);
    expect(selectFromPool(pool, { method: 'bon', n: 3, needGold: true }).subset).toEqual([0]);
    expect(selectFromPool(fakePool([{ proxy: null }]), { method: 'bon', n: 1 }).chosen).toBeNull();
  });

  it('breaks ties by the lowest index', () => {
    const pool = fakePool([{ proxy: 1 }, { proxy: 2 }, { proxy: 2 }]);
    expect(selectFromPool(pool, { method: 'bon', n: 3 }).chosen).toBe(1);
  });

  it('refuses N < 1, N above the pool, β < 0 and a missing β', () => {
    const pool = fakePool([{ proxy: 1 }, { proxy: 2 }]);
    expect(() => selectFromPool(pool, { method: 'bon', n: 0 })).toThrow(InvalidArgumentError);
    expect(() => selectFromPool(pool, { method: 'bon', n: 3 })).toThrow(/larger than the pool/);
    expect(() => selectFromPool(pool, { method: 'mbr-bon', n: 2, beta: -1 })).toThrow(/β must be/);
    expect(() => selectFromPool(pool, { method: 'mbr-bon', n: 2 })).toThrow(/needs β/);
  });

  it('takes sub-matrices in the order given, repeats included', () => {
    const m = [0, 1, 2, 3, 4, 5, 6, 7, 8];
    expect(Array.from(subMatrix(m, 3, [2, 0]))).toEqual([8, 6, 2, 0]);
    expect(Array.from(subMatrix(m, 3, [1, 1]))).toEqual([4, 4, 4, 4]);
  });

  it('selects on explicit subsets with repeats (resampling) and maps back to pool indices', () => {
    const pool = fakePool([{ proxy: 0 }, { proxy: 3 }, { proxy: 1 }]);
    expect(selectSubset(pool, [2, 2, 0], 'bon', null).chosen).toBe(2);
    expect(selectSubset(pool, [0, 1, 1], 'bon', null).chosen).toBe(1);
  });
});

describe('KL of selection arms', () => {
  it('is 0 for N = 1 and for a pool of identical outputs', () => {
    const { pool } = randomPool(8, 3);
    expect(selectionKlPlugin(pool, 'bon', 1, null, { resamples: 500 })).toBeCloseTo(0, 12);
    const same = fakePool([0.1, 0.5, 0.9].map((p) => ({ proxy: p, ids: [5, 6, 7] })));
    expect(selectionKlPlugin(same, 'bon', 4, null, { resamples: 500 })).toBeCloseTo(0, 12);
  });

  it('converges to the exact BoN KL of the empirical distribution with distinct rewards', () => {
    const m = 10;
    const pool = fakePool(Array.from({ length: m }, (_, i) => ({ proxy: (i * 7) % m })));
    for (const n of [2, 4, 8]) {
      let exact = 0;
      for (let k = 1; k <= m; k++) {
        const p = (k / m) ** n - ((k - 1) / m) ** n;
        exact += p * Math.log(p * m);
      }
      const est = selectionKlPlugin(pool, 'bon', n, null, { resamples: 40_000, seed: n }) as number;
      expect(Math.abs(est - exact)).toBeLessThan(0.02);
      // The empirical KL never exceeds log M, and stays under the analytic BoN bound here.
      expect(est).toBeLessThanOrEqual(Math.log(m) + 1e-9);
      expect(exact).toBeLessThan((klBound('bon', n, false)?.value as number) + 0.05);
    }
  });

  it('is lower when many candidates share the top reward (ties the analytic formula ignores)', () => {
    const distinct = fakePool(Array.from({ length: 8 }, (_, i) => ({ proxy: i })));
    const tied = fakePool(Array.from({ length: 8 }, (_, i) => ({ proxy: i < 4 ? 0 : 1 })));
    const a = selectionKlPlugin(distinct, 'bon', 4, null, { resamples: 20_000 }) as number;
    const b = selectionKlPlugin(tied, 'bon', 4, null, { resamples: 20_000 }) as number;
    expect(b).toBeLessThan(a);
  });

  it('gives the analytic bounds: log N − (N−1)/N for BoN, log N for other selectors, none for steered arms', () => {
    expect(klBound('bon', 16, false)?.value).toBeCloseTo(Math.log(16) - 15 / 16, 12);
    expect(klBound('mbr-bon', 16, false)?.value).toBeCloseTo(Math.log(16), 12);
    expect(klBound('mbr-bon', 16, true)).toBeNull();
    expect(klBound('sample', 1, false)).toBeNull();
  });
});
