/**
 * β calibration on a hand-computed dev set where the proxy is hackable.
 *
 * kl-bon, objective R + β·log π_ref:
 *   prompt A: proxy [1, 0.5, 0], gold [0, 1, 0.5], logπ [−10, −2, −1]
 *     β = 0 → 0 (gold 0);  β = 0.125 → [−0.25, 0.25, −0.125] → 1 (gold 1);  β = 1 → [−9, −1.5, −1] → 2 (gold 0.5)
 *   prompt B: proxy [0, 1], gold [1, 0], logπ [−1, −16]
 *     β = 0 → 1 (gold 0);  β = 0.125 → [−0.125, −1] → 0 (gold 1);  β = 1 → 0 (gold 1)
 *   mean gold: β=0 → 0, β=0.125 → 1, β=1 → 0.75; mean proxy: 1, 0.25, 0.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { calibrateBeta, type CalibrationPrompt } from '../../src/selection/calibrate.js';

const DEV: CalibrationPrompt[] = [
  { proxy: [1, 0.5, 0], gold: [0, 1, 0.5], logprobs: [-10, -2, -1] },
  { proxy: [0, 1], gold: [1, 0], logprobs: [-1, -16] },
];

describe('calibrateBeta', () => {
  it('tabulates mean gold reward per β and picks the best', () => {
    const r = calibrateBeta(DEV, { selector: 'kl-bon', betas: [1, 0, 0.125] });
    expect(r.table).toEqual([
      { beta: 0, meanGold: 0, meanProxy: 1 },
      { beta: 0.125, meanGold: 1, meanProxy: 0.25 },
      { beta: 1, meanGold: 0.75, meanProxy: 0 },
    ]);
    expect(r.best.beta).toBe(0.125);
    expect(r.selector).toBe('kl-bon');
  });

  it('uses the expected gold reward under soft-kl', () => {
    // β = 1: P ∝ exp([1, 0.5, 0]) for prompt A, exp([0, 1]) for prompt B
    const za = Math.exp(1) + Math.exp(0.5) + 1;
    const goldA = (Math.exp(0.5) * 1 + 1 * 0.5) / za;
    const goldB = 1 / (1 + Math.E);
    const r = calibrateBeta(DEV, { selector: 'soft-kl', betas: [1] });
    expect(r.table[0]!.meanGold).toBeCloseTo((goldA + goldB) / 2, 12);
  });

  it('breaks ties toward the smaller β', () => {
    const r = calibrateBeta([{ proxy: [1, 0], gold: [1, 0] }], { selector: 'bon', betas: [3, 2, 1] });
    expect(r.best.beta).toBe(1);
  });

  it('length-bon and mbr-bon use lengths and utilities', () => {
    const p: CalibrationPrompt = { proxy: [1, 0.5], gold: [0, 1], lengths: [10, 1], utility: [1, 0, 0, 1] };
    expect(calibrateBeta([p], { selector: 'length-bon', betas: [0, 0.25] }).best.beta).toBe(0.25);
    // ū = [1/3, 2/3, 2/3]: β = 2 gives [1.67, 1.83, 1.83] → candidate 1
    const q: CalibrationPrompt = { proxy: [1, 0.5, 0.5], gold: [0, 1, 1], utility: [1, 0, 0, 0, 1, 1, 0, 1, 1] };
    expect(calibrateBeta([q], { selector: 'mbr-bon', betas: [0, 2] }).table.map((row) => row.meanGold)).toEqual([0, 1]);
  });

  it('rejects bad input with typed errors', () => {
    expect(() => calibrateBeta([], { selector: 'bon' })).toThrow(InvalidArgumentError);
    expect(() => calibrateBeta(DEV, { selector: 'kl-bon', betas: [-1] })).toThrow(/β must be finite and ≥ 0/);
    expect(() => calibrateBeta([{ proxy: [1, 2], gold: [1] }], { selector: 'bon' })).toThrow(/2 proxy and 1 gold/);
    expect(() => calibrateBeta([{ proxy: [1, 2], gold: [1, NaN] }], { selector: 'bon' })).toThrow(/gold\[1\] is NaN \(candidate 1\)/);
    expect(() => calibrateBeta(DEV, { selector: 'kl-bon', betas: [] })).toThrow(/grid is empty/);
  });
});
