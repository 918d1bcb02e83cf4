/** KL-BoN with several reference models: MRPO's combined reference as log π_ref. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { klBon } from '../../src/selection/selectors.js';

describe('kl-bon with references', () => {
  it('reduces exactly to single-reference KL-BoN when the references are the same model', () => {
    const lp = fc.array(fc.double({ min: -400, max: -0.01, noNaN: true }), { minLength: 1, maxLength: 16 });
    fc.assert(fc.property(lp, fc.double({ min: 0, max: 5, noNaN: true }), fc.integer({ min: 0, max: 1000 }), (l, beta, seed) => {
      const rewards = l.map((_, i) => ((i + 1) * (seed + 17)) % 7 / 7);
      const single = klBon({ rewards, logprobs: l, beta });
      const twice = klBon({ rewards, references: [l, l], beta, epsilon: 0.3 });
      expect(twice.index).toBe(single.index);
      expect(Array.from(twice.objective)).toEqual(Array.from(single.objective));
    }), { numRuns: 300 });
  });

  it('uses one reference as it is', () => {
    const r = klBon({ rewards: [0.1, 0.2], references: [[-5, -9]], beta: 0.1 });
    expect(r).toEqual(klBon({ rewards: [0.1, 0.2], logprobs: [-5, -9], beta: 0.1 }));
  });

  it('picks what a computation by hand picks, and not what the anchor alone picks', () => {
    const rewards = [1, 0.6, 0.82];
    const anchor = [-20, -10, -14]; // the base model (MRPO's initial policy, l2)
    const external = [-30, -8, -16]; // e.g. a trained policy (l1); inside the ε = 0.5 band everywhere, so no clipping
    const beta = 0.05;
    const alone = klBon({ rewards, logprobs: anchor, beta });
    expect(Array.from(alone.objective).map((x) => +x.toFixed(12))).toEqual([0, 0.1, 0.12]);
    expect(alone.index).toBe(2);
    // By hand: reward-ordered pairs (0,1), (0,2), (2,1); Δ = mean margin; α = |Δ1|/(|Δ1|+|Δ2|);
    // l̃ = l1 + l2 − log(α·e^{l1} + (1−α)·e^{l2}).
    const pairs: [number, number][] = [[0, 1], [0, 2], [2, 1]];
    const delta = (l: number[]) => pairs.reduce((s, [i, j]) => s + l[i]! - l[j]!, 0) / pairs.length;
    const d2 = delta(anchor);
    const d1 = delta(external);
    expect(d2).toBeCloseTo(-20 / 3, 12);
    expect(d1).toBeCloseTo(-44 / 3, 12);
    const alpha = Math.abs(d1) / (Math.abs(d1) + Math.abs(d2));
    const combined = anchor.map((l2, i) => external[i]! + l2 - Math.log(alpha * Math.exp(external[i]!) + (1 - alpha) * Math.exp(l2)));
    const objective = rewards.map((r, i) => r + beta * combined[i]!);
    const both = klBon({ rewards, references: [anchor, external], beta, epsilon: 0.5 });
    Array.from(both.objective).forEach((x, i) => expect(x).toBeCloseTo(objective[i]!, 10));
    expect(objective[1]).toBeGreaterThan(objective[2]!);
    expect(both.index).toBe(1);
  });

  it('refuses logprobs and references together, ragged references and a bad ε', () => {
    expect(() => klBon({ rewards: [1, 2], logprobs: [-1, -2], references: [[-1, -2], [-1, -2]], beta: 1 })).toThrow(/not both/);
    expect(() => klBon({ rewards: [1, 2], references: [[-1, -2], [-1]], beta: 1 })).toThrow(/references\[1\] has 1 candidates/);
    expect(() => klBon({ rewards: [1, 2], references: [[-1, -2], [-1, NaN]], beta: 1 })).toThrow(/references\[1\]\[1\] is NaN/);
    expect(() => klBon({ rewards: [1, 2], references: [[-1, -2], [-1, -3]], beta: 1, epsilon: 0 })).toThrow(InvalidArgumentError);
    expect(() => klBon({ rewards: [1, 2], references: [], beta: 1 })).toThrow(/references is empty/);
  });
});
