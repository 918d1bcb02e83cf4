/**
 * Selectors against a hand-computed example. Values are dyadic so ties are
 * exact in floating point.
 *
 *   R    = [1, 0.75, 0.25, 0.5]
 *   u    = symmetric, diag 1; u01 = u02 = 0.25, u03 = u13 = 0.5, u12 = u23 = 0.75
 *   ū    = [2, 2.5, 2.75, 2.75] / 4 = [0.5, 0.625, 0.6875, 0.6875]
 *   logπ = [−8, −4, −6, −2],  |y| = [8, 2, 4, 1]
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, UnknownSelectorError } from '../../src/errors.js';
import { Rng } from '../../src/math/rng.js';
import { getSelector } from '../../src/selection/registry.js';
import { bon, klBon, lengthBon, mbr, mbrBon, meanUtility, softKl, type SelectionInput } from '../../src/selection/selectors.js';

const R = [1, 0.75, 0.25, 0.5];
// prettier-ignore
const U = Float64Array.from([
  1, 0.25, 0.25, 0.5,
  0.25, 1, 0.75, 0.5,
  0.25, 0.75, 1, 0.75,
  0.5, 0.5, 0.75, 1,
]);
const LOGP = [-8, -4, -6, -2];
const LEN = [8, 2, 4, 1];
const base: SelectionInput = { rewards: R, utility: U, logprobs: LOGP, lengths: LEN };

describe('deterministic selectors (hand-computed)', () => {
  it('bon takes argmax R', () => {
    const s = bon(base);
    expect(s.index).toBe(0);
    expect([...s.objective]).toEqual(R);
  });

  it('mean utility is the row mean with the self term', () => {
    expect([...meanUtility(U, 4)]).toEqual([0.5, 0.625, 0.6875, 0.6875]);
  });

  it('mbr takes argmax mean utility; the tie 2/3 goes to the lowest index', () => {
    const s = mbr(base);
    expect(s.index).toBe(2);
    expect([...s.objective]).toEqual([0.5, 0.625, 0.6875, 0.6875]);
  });

  it('mbr works from a utility matrix alone', () => {
    expect(mbr({ utility: U }).index).toBe(2);
  });

  it('mbr-bon: R + β·ū', () => {
    expect([...mbrBon({ ...base, beta: 1 }).objective]).toEqual([1.5, 1.375, 0.9375, 1.1875]);
    expect(mbrBon({ ...base, beta: 1 }).index).toBe(0);
    expect([...mbrBon({ ...base, beta: 2 }).objective]).toEqual([2, 2, 1.625, 1.875]);
    expect(mbrBon({ ...base, beta: 2 }).index).toBe(0); // tie 0/1
    expect([...mbrBon({ ...base, beta: 4 }).objective]).toEqual([3, 3.25, 3, 3.25]);
    expect(mbrBon({ ...base, beta: 4 }).index).toBe(1); // tie 1/3
    expect(mbrBon({ ...base, beta: 0 }).index).toBe(bon(base).index);
  });

  it('kl-bon: R + β·log π_ref', () => {
    expect([...klBon({ ...base, beta: 0.125 }).objective]).toEqual([0, 0.25, -0.5, 0.25]);
    expect(klBon({ ...base, beta: 0.125 }).index).toBe(1);
    expect([...klBon({ ...base, beta: 0.0625 }).objective]).toEqual([0.5, 0.5, -0.125, 0.375]);
    expect(klBon({ ...base, beta: 0.0625 }).index).toBe(0);
    expect(klBon({ ...base, beta: 0.25 }).index).toBe(3);
  });

  it('length-bon: R − β·|y|', () => {
    expect([...lengthBon({ ...base, beta: 0.125 }).objective]).toEqual([0, 0.5, -0.25, 0.375]);
    expect(lengthBon({ ...base, beta: 0.125 }).index).toBe(1);
    expect([...lengthBon({ ...base, beta: 0.25 }).objective]).toEqual([-1, 0.25, -0.75, 0.25]);
    expect(lengthBon({ ...base, beta: 0.25 }).index).toBe(1);
    expect(lengthBon({ ...base, beta: 1 }).index).toBe(3);
  });

  it('selectors are pure: inputs are not modified', () => {
    const rewards = Float64Array.from(R);
    mbrBon({ ...base, rewards, beta: 3 });
    klBon({ ...base, rewards, beta: 3 });
    expect([...rewards]).toEqual(R);
  });
});

describe('soft-kl', () => {
  // β = 0.25: logits R/β = [4, 3, 1, 2]
  const z = Math.exp(4) + Math.exp(3) + Math.exp(1) + Math.exp(2);
  const P = [Math.exp(4) / z, Math.exp(3) / z, Math.exp(1) / z, Math.exp(2) / z];

  it('samples from softmax(R/β) by inverse CDF', () => {
    const at = (u: number) => softKl({ ...base, beta: 0.25, rng: () => u });
    const s = at(0.5);
    expect([...s.objective]).toEqual([4, 3, 1, 2]);
    s.probabilities!.forEach((p, i) => expect(p).toBeCloseTo(P[i]!, 12));
    expect(P[0]).toBeCloseTo(0.64391, 4);
    expect(at(0.5).index).toBe(0);
    expect(at(0.7).index).toBe(1); // 0.6439 ≤ 0.7 < 0.8808
    expect(at(0.9).index).toBe(2); // 0.8808 ≤ 0.9 < 0.9129
    expect(at(0.95).index).toBe(3);
  });

  it('empirical frequencies match the probabilities', () => {
    const rng = new Rng(7);
    const counts = [0, 0, 0, 0];
    const draws = 20_000;
    for (let k = 0; k < draws; k++) counts[softKl({ rewards: R, beta: 0.25, rng: () => rng.next() }).index]! += 1;
    counts.forEach((c, i) => expect(c / draws).toBeCloseTo(P[i]!, 1));
  });

  it('β = 0 is argmax R (lowest index on ties)', () => {
    const s = softKl({ rewards: [0.5, 2, 2], beta: 0, rng: () => 0.99 });
    expect(s.index).toBe(1);
    expect([...s.probabilities!]).toEqual([0, 1, 0]);
  });

  it('large β tends to uniform', () => {
    const s = softKl({ rewards: R, beta: 1e9, rng: () => 0.3 });
    s.probabilities!.forEach((p) => expect(p).toBeCloseTo(0.25, 6));
    expect(s.index).toBe(1);
  });
});

describe('input validation', () => {
  it('β < 0 is a typed error', () => {
    for (const name of ['mbr-bon', 'kl-bon', 'soft-kl', 'length-bon']) {
      expect(() => getSelector(name)({ ...base, beta: -0.1, rng: () => 0 })).toThrow(InvalidArgumentError);
      expect(() => getSelector(name)({ ...base, beta: -0.1, rng: () => 0 })).toThrow(/beta must be a finite number ≥ 0/);
    }
    expect(() => mbrBon({ ...base, beta: NaN })).toThrow(InvalidArgumentError);
  });

  it('N < 1 is a typed error', () => {
    for (const name of ['bon', 'mbr', 'mbr-bon', 'kl-bon', 'soft-kl', 'length-bon']) {
      expect(() => getSelector(name)({ rewards: [], utility: [], logprobs: [], lengths: [], beta: 1, rng: () => 0 })).toThrow(/at least one candidate/);
    }
    expect(() => bon({})).toThrow(InvalidArgumentError);
  });

  it('a NaN reward is reported with its candidate', () => {
    expect(() => bon({ rewards: [1, 2, NaN] })).toThrow(/rewards\[2\] is NaN \(candidate 2\)/);
    expect(() => klBon({ rewards: R, logprobs: [-1, -Infinity, -1, -1], beta: 1 })).toThrow(/candidate 1/);
  });

  it('shape mismatches and missing inputs are typed errors', () => {
    expect(() => mbrBon({ rewards: R, utility: U.subarray(0, 9), beta: 1 })).toThrow(/utility has 3 candidates|expected 4×4/);
    expect(() => klBon({ rewards: R, logprobs: [1, 2], beta: 1 })).toThrow(/logprobs has 2 candidates/);
    expect(() => mbrBon({ rewards: R, beta: 1 })).toThrow(/needs a utility matrix/);
    expect(() => klBon({ rewards: R, logprobs: LOGP })).toThrow(/needs beta/);
    expect(() => softKl({ rewards: R, beta: 1 })).toThrow(/needs an rng/);
    expect(() => lengthBon({ rewards: R, lengths: [1, -1, 1, 1], beta: 1 })).toThrow(/negative/);
    expect(() => softKl({ rewards: R, beta: 1, rng: () => 1 })).toThrow(/rng returned 1/);
  });

  it('an unknown selector name is a usage error', () => {
    expect(() => getSelector('best')).toThrow(UnknownSelectorError);
    expect(() => getSelector('best')).toThrow('unknown selector "best"; selectors: bon, mbr, mbr-bon, kl-bon, soft-kl, length-bon');
  });
});
