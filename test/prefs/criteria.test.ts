/**
 * DPO, RPO and MRPO against hand-computed float64 examples. The constants
 * below were computed from the formulas written out directly (no log-sum-exp,
 * log(1 + e^{−m}) for the loss), not from this module:
 *
 *   pair A: π = (−10, −12), ref = (−11, −11), β = 0.1 → margin 0.2, loss log(1 + e^{−0.2}) = 0.5981388693815918
 *   pair B: π = (−30, −25), ref = (−28, −27)          → margin −0.4, loss 0.9130152523999526
 *   mean loss 0.7555770608907721, accuracy 0.5, mean margin −0.1
 *   RPO, η = 0.005: nll = (10 + 30)/2 = 20 → 0.7655770608907722;
 *     per token with |y_w| = 5 and 12: nll 2.25 → 0.7567020608907722
 *   MRPO, ε = 0.1: anchor (initial policy) l2 = (−20, −24), external l1 = (−15, −30):
 *     l1 clipped into [−22, −18] and [−26.4, −21.6] → (−18, −26.4); Δ1 = 8.4, Δ2 = 4, α = 8.4/12.4
 *     l̃ = l1 + l2 − log(α e^{l1} + (1−α) e^{l2}) = (−19.672989120194295, −25.442977744905892)
 *     policy (−19, −26): margin 0.12300113752884023, loss 0.6335365808137345
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import {
  clipToAnchor, combinedLogprob, combinedLogprob2, dpo, logSigmoid, logSumExp, mrpo, mrpoPair, mrpoWeights, preferenceCriteria, rpo, shifts,
  type PolicyLogprobs,
} from '../../src/prefs/criteria.js';

const policy: PolicyLogprobs[] = [
  { chosen: -10, rejected: -12, chosenTokens: 5, rejectedTokens: 6 },
  { chosen: -30, rejected: -25, chosenTokens: 12, rejectedTokens: 9 },
];
const reference = [{ chosen: -11, rejected: -11 }, { chosen: -28, rejected: -27 }];
const TOL = 12;

describe('DPO and RPO (hand-computed)', () => {
  it('margins, losses, accuracy', () => {
    const d = dpo(policy, reference, 0.1);
    expect(d.margins[0]).toBeCloseTo(0.2, TOL);
    expect(d.margins[1]).toBeCloseTo(-0.4, TOL);
    expect(d.losses[0]).toBeCloseTo(0.5981388693815918, TOL);
    expect(d.losses[1]).toBeCloseTo(0.9130152523999526, TOL);
    expect(d.loss).toBeCloseTo(0.7555770608907721, TOL);
    expect(d.accuracy).toBe(0.5);
    expect(d.margin).toBeCloseTo(-0.1, TOL);
  });

  it('RPO adds η·β times the chosen NLL, summed and per token', () => {
    const r = rpo(dpo(policy, reference, 0.1), policy, 0.1, 0.005);
    expect(r.nll).toBeCloseTo(20, TOL);
    expect(r.loss).toBeCloseTo(0.7655770608907722, TOL);
    expect(r.nllPerToken).toBeCloseTo(2.25, TOL);
    expect(r.lossPerToken).toBeCloseTo(0.7567020608907722, TOL);
  });

  it('shifts against the first reference', () => {
    const s = shifts(policy, reference);
    expect(s.chosenShift).toBeCloseTo((1 - 2) / 2, TOL);
    expect(s.rejectedShift).toBeCloseTo((-1 + 2) / 2, TOL);
  });

  it('a policy equal to its reference has margin 0 and loss log 2', () => {
    const d = dpo(reference, reference, 0.5);
    expect(d.loss).toBeCloseTo(Math.LN2, 14);
    expect(d.accuracy).toBe(0);
  });

  it('log σ is stable far out', () => {
    expect(logSigmoid(0)).toBeCloseTo(-Math.LN2, 15);
    expect(logSigmoid(-800)).toBeCloseTo(-800, 10);
    expect(logSigmoid(800)).toBe(-0);
    expect(logSigmoid(40)).toBeCloseTo(-Math.exp(-40), 25);
    expect(logSumExp([-1000, -1000])).toBeCloseTo(-1000 + Math.LN2, 10);
  });
});

describe('MRPO (hand-computed)', () => {
  const anchor = [{ chosen: -20, rejected: -24 }];
  const external = [{ chosen: -15, rejected: -30 }];

  it('clips the external reference, weights it and combines with log-sum-exp', () => {
    const p = mrpoPair([anchor[0]!, external[0]!], 0.1);
    expect(p.clipped[1]!.chosen).toBeCloseTo(-18, TOL);
    expect(p.clipped[1]!.rejected).toBeCloseTo(-26.4, TOL);
    expect(p.alpha).toBeCloseTo(8.4 / 12.4, TOL);
    expect(p.combined.chosen).toBeCloseTo(-19.672989120194295, 10);
    expect(p.combined.rejected).toBeCloseTo(-25.442977744905892, 10);
  });

  it('DPO with the combined reference', () => {
    const m = mrpo([{ chosen: -19, rejected: -26 }], [anchor, external], 0.1, 0.1);
    expect(m.margins[0]).toBeCloseTo(0.12300113752884023, 10);
    expect(m.loss).toBeCloseTo(0.6335365808137345, 10);
    expect(m.alpha[0]).toBeCloseTo(8.4 / 12.4, TOL);
  });

  it('leaves an external reference inside the band unclipped', () => {
    expect(clipToAnchor(-19, -20, 0.1)).toBe(-19);
    expect(clipToAnchor(-30, -20, 0.1)).toBeCloseTo(-22, TOL);
    expect(clipToAnchor(-1, -20, 0.1)).toBeCloseTo(-18, TOL);
  });

  it('zero margins: the reference with Δ = 0 takes the weight, all zero is uniform', () => {
    expect(mrpoWeights([0, 3])).toEqual([1, 0]);
    expect(mrpoWeights([3, 0])).toEqual([0, 1]);
    expect(mrpoWeights([0, 0])).toEqual([0.5, 0.5]);
    expect(mrpoWeights([1, 3])).toEqual([0.75, 0.25]);
  });

  it('the K-reference combination is the K = 2 formula for two references (property)', () => {
    const lp = fc.double({ min: -400, max: -0.01, noNaN: true });
    fc.assert(fc.property(lp, lp, fc.double({ min: 0, max: 1, noNaN: true }), (l1, l2, alpha) => {
      // weights: anchor (l2) gets α, external (l1) gets 1 − α
      const general = combinedLogprob([l2, l1], [alpha, 1 - alpha]);
      const two = combinedLogprob2(l1, l2, alpha);
      expect(general).toBeCloseTo(two, 8);
      // a weighted harmonic mean of probabilities lies between them
      expect(general).toBeGreaterThanOrEqual(Math.min(l1, l2) - 1e-9);
      expect(general).toBeLessThanOrEqual(Math.max(l1, l2) + 1e-9);
    }));
  });

  it('three references: weights ∝ 1/|Δ|, the combination equals a direct float64 sum', () => {
    const refs = [{ chosen: -10, rejected: -12 }, { chosen: -10.5, rejected: -11.5 }, { chosen: -9.5, rejected: -13.5 }];
    const p = mrpoPair(refs, 0.2);
    // all inside the ±20 % bands → unclipped; |Δ| = 2, 1, 4 → weights (1/2, 1, 1/4)/1.75
    expect(p.weights[0]).toBeCloseTo(0.5 / 1.75, TOL);
    expect(p.weights[1]).toBeCloseTo(1 / 1.75, TOL);
    expect(p.weights[2]).toBeCloseTo(0.25 / 1.75, TOL);
    const direct = -Math.log(refs.reduce((s, r, k) => s + p.weights[k]! * Math.exp(-r.chosen), 0));
    expect(p.combined.chosen).toBeCloseTo(direct, 10);
  });
});

describe('bad input', () => {
  it('refuses β ≤ 0, ε outside (0, 1), η < 0 and MRPO with one reference', () => {
    const params = { beta: 0.1, eta: 0.005, epsilon: 0.1 };
    expect(() => preferenceCriteria(policy, [reference], { ...params, beta: 0 })).toThrow(InvalidArgumentError);
    expect(() => preferenceCriteria(policy, [reference], { ...params, beta: -1 })).toThrow(/β must be/);
    expect(() => preferenceCriteria(policy, [reference], { ...params, epsilon: 1 })).toThrow(/ε must lie in \(0, 1\)/);
    expect(() => preferenceCriteria(policy, [reference], { ...params, epsilon: 0 })).toThrow(InvalidArgumentError);
    expect(() => preferenceCriteria(policy, [reference], { ...params, eta: -0.1 })).toThrow(/η/);
    expect(() => mrpo(policy, [reference], 0.1, 0.1)).toThrow(/at least two references/);
    expect(preferenceCriteria(policy, [reference], params).mrpo).toBeNull();
  });

  it('refuses mismatched lengths and non-finite values', () => {
    expect(() => dpo(policy, reference.slice(1), 0.1)).toThrow(/2 policy pairs but 1/);
    expect(() => dpo([{ chosen: NaN, rejected: -1 }], [reference[0]!], 0.1)).toThrow(/non-finite/);
  });

  it('flags the overoptimization symptom when the chosen log-prob falls', () => {
    const down = policy.map((p) => ({ ...p, chosen: p.chosen - 5 }));
    expect(preferenceCriteria(down, [reference], { beta: 0.1, eta: 0, epsilon: 0.1 }).chosenFell).toBe(true);
  });
});
