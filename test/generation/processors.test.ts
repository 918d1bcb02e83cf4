import { describe, expect, it } from 'vitest';
import { minNewTokens, repetitionPenalty, temperature } from '../../src/generation/processors.js';

describe('logits processors', () => {
  it('repetition penalty divides positive and multiplies negative seen logits', () => {
    const l = Float32Array.from([2, -2, 1, 4]);
    repetitionPenalty(2)(l, { tokens: [0, 1, 1], generated: 1 });
    expect(Array.from(l)).toEqual([1, -4, 1, 4]);
  });
  it('temperature divides every logit (after subtracting the maximum, which softmax ignores)', () => {
    const l = Float32Array.from([2, -4]);
    temperature(2)(l, { tokens: [], generated: 0 });
    expect(Array.from(l)).toEqual([0, -3]);
  });
  it('a tiny temperature is greedy, not NaN', () => {
    for (const t of [1e-40, 1e-320]) {
      const l = Float32Array.from([2, 5, -4]);
      temperature(t)(l, { tokens: [], generated: 0 });
      expect(Array.from(l)).toEqual([-Infinity, 0, -Infinity]);
    }
  });
  it('minNewTokens masks ids until the minimum is reached', () => {
    const l = Float32Array.from([1, 1, 1]);
    minNewTokens(2, [2])(l, { tokens: [], generated: 1 });
    expect(l[2]).toBe(-Infinity);
    const m = Float32Array.from([1, 1, 1]);
    minNewTokens(2, [2])(m, { tokens: [], generated: 2 });
    expect(m[2]).toBe(1);
  });
});
