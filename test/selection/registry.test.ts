import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, UnknownSelectorError } from '../../src/errors.js';
import { getSelector, hasSelector, registerSelector, selectorKlBound, selectorNames, selectorSpec } from '../../src/selection/registry.js';
import { argmax } from '../../src/math/stats.js';
import { needs } from '../../src/selection/spec.js';

describe('the selector registry', () => {
  it('holds the built-in selectors with what each reads', () => {
    expect(selectorNames().slice(0, 6)).toEqual(['bon', 'mbr', 'mbr-bon', 'kl-bon', 'soft-kl', 'length-bon']);
    expect(selectorSpec('mbr-bon').needs).toEqual({ rewards: true, utility: true, logprobs: false, lengths: false, beta: true, rng: false });
    expect(selectorSpec('kl-bon').needs.logprobs).toBe(true);
    expect(selectorSpec('soft-kl').needs.rng).toBe(true);
    expect(selectorSpec('length-bon').needs.lengths).toBe(true);
    expect(selectorSpec('bon').needs.beta).toBe(false);
  });

  it('bounds the selection KL by log N unless a selector knows better', () => {
    expect(selectorKlBound('bon', 4).value).toBeCloseTo(Math.log(4) - 3 / 4, 12);
    expect(selectorKlBound('mbr-bon', 4)).toEqual({ value: Math.log(4), formula: 'log N' });
  });

  it('takes new selectors and rejects bad names', () => {
    registerSelector({ name: 'test-worst', description: 'argmin R', needs: needs('rewards'), select: (input) => {
      const neg = Float64Array.from(input.rewards ?? [], (r) => -r);
      return { index: argmax(neg), objective: neg };
    } });
    expect(hasSelector('test-worst')).toBe(true);
    expect(getSelector('test-worst')({ rewards: [3, 1, 2] }).index).toBe(1);
    expect(() => registerSelector({ ...selectorSpec('bon'), name: 'Bad Name' })).toThrow(InvalidArgumentError);
    expect(() => selectorSpec('nope')).toThrow(UnknownSelectorError);
  });
});
