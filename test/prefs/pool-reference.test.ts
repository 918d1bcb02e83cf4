/** MRPO's combined reference over a candidate pool, against the pair criterion and a computation by hand. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { mrpoPair } from '../../src/prefs/criteria.js';
import { mrpoPoolReference } from '../../src/prefs/pool-reference.js';

describe('mrpoPoolReference', () => {
  it('is MRPO of the pair when the pool has two candidates (chosen = the higher reward)', () => {
    const lp = fc.double({ min: -200, max: -0.5, noNaN: true });
    fc.assert(fc.property(lp, lp, lp, lp, fc.double({ min: 0.01, max: 0.99, noNaN: true }), (a0, a1, e0, e1, eps) => {
      const pool = mrpoPoolReference([[a0, a1], [e0, e1]], [0.9, 0.1], eps);
      const pair = mrpoPair([{ chosen: a0, rejected: a1 }, { chosen: e0, rejected: e1 }], eps);
      expect(pool.weights).toEqual(pair.weights);
      expect(pool.combined[0]).toBe(pair.combined.chosen);
      expect(pool.combined[1]).toBe(pair.combined.rejected);
      // Reversing the rewards makes candidate 1 the chosen one.
      const flipped = mrpoPoolReference([[a0, a1], [e0, e1]], [0.1, 0.9], eps);
      const pair2 = mrpoPair([{ chosen: a1, rejected: a0 }, { chosen: e1, rejected: e0 }], eps);
      expect(flipped.combined[1]).toBe(pair2.combined.chosen);
    }), { numRuns: 200 });
  });

  it('matches a computation by hand on three candidates, with clipping', () => {
    const anchor = [-10, -20, -30];
    const external = [-12, -15, -40];
    const rewards = [0.3, 0.1, 0.2];
    const eps = 0.2;
    // Clip the external reference into [(1+ε)·l_anchor, (1−ε)·l_anchor] per candidate.
    const clip = (x: number, a: number) => Math.min(Math.max(x, (1 + eps) * a), (1 - eps) * a);
    const c = external.map((x, i) => clip(x, anchor[i]!));
    expect(c).toEqual([-12, -16, -36]);
    // Reward-ordered pairs: (0,1), (0,2), (2,1).
    const d2 = ((anchor[0]! - anchor[1]!) + (anchor[0]! - anchor[2]!) + (anchor[2]! - anchor[1]!)) / 3;
    const d1 = ((c[0]! - c[1]!) + (c[0]! - c[2]!) + (c[2]! - c[1]!)) / 3;
    const alpha = Math.abs(d1) / (Math.abs(d1) + Math.abs(d2));
    const r = mrpoPoolReference([anchor, external], rewards, eps);
    expect(r.deltas[0]).toBeCloseTo(d2, 12);
    expect(r.deltas[1]).toBeCloseTo(d1, 12);
    expect(r.weights[0]).toBeCloseTo(alpha, 12);
    // The paper's K = 2 formula, l̃ = l1 + l2 − log(α·e^{l1} + (1−α)·e^{l2}), l2 the anchor, l1 the clipped external.
    anchor.forEach((l2, i) => {
      const l1 = c[i]!;
      expect(r.combined[i]).toBeCloseTo(l1 + l2 - Math.log(alpha * Math.exp(l1) + (1 - alpha) * Math.exp(l2)), 10);
    });
  });

  it('gives back the reference exactly when every reference is the same', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: -300, max: -0.1, noNaN: true }), { minLength: 1, maxLength: 12 }), (l) => {
      const rewards = l.map((_, i) => (i * 7919) % 5);
      const r = mrpoPoolReference([l, l, l], rewards, 0.1);
      expect(Array.from(r.combined)).toEqual(l);
    }), { numRuns: 200 });
  });

  it('weighs the references equally when no pair is ordered (one candidate, or equal rewards)', () => {
    expect(mrpoPoolReference([[-3], [-5]], [1], 0.5).weights).toEqual([0.5, 0.5]);
    expect(mrpoPoolReference([[-3, -4], [-5, -9]], [1, 1], 0.5).weights).toEqual([0.5, 0.5]);
  });

  it('refuses ε outside (0, 1), no references and ragged input', () => {
    expect(() => mrpoPoolReference([[-1], [-2]], [0], 1)).toThrow(/ε must lie in \(0, 1\)/);
    expect(() => mrpoPoolReference([], [0], 0.1)).toThrow(InvalidArgumentError);
    expect(() => mrpoPoolReference([[-1, -2], [-2]], [0, 1], 0.1)).toThrow(/reference 1 has 1 log-probs for 2 candidates/);
  });
});
