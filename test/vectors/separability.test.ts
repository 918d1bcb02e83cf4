import { describe, expect, it } from 'vitest';
import { InvalidSpecError } from '../../src/errors.js';
import { fluentRange, type EffectPoint } from '../../src/vectors/effect.js';
import { meanDiff } from '../../src/vectors/methods.js';
import { formatReadPosition, parseReadPosition } from '../../src/vectors/positions.js';
import type { ContrastSamples } from '../../src/vectors/samples.js';
import { fitFolds, foldAssignment, separability } from '../../src/vectors/separability.js';

function samples(n: number, signal: number, seed = 3): ContrastSamples {
  let s = seed;
  const r = () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return s / 2 ** 31 - 1; };
  const H = 4;
  const pos = new Float32Array(n * H);
  const neg = new Float32Array(n * H);
  for (let i = 0; i < n; i++) {
    for (let h = 0; h < H; h++) { neg[i * H + h] = r(); pos[i * H + h] = r() + (h === 0 ? signal : 0); }
  }
  return { hidden: H, count: n, pos, neg, pair: Int32Array.from({ length: n }, (_, i) => i), pairs: n };
}

describe('held-out separability', () => {
  it('assigns pairs to balanced folds', () => {
    expect(Array.from(foldAssignment(7, 3))).toEqual([0, 1, 2, 0, 1, 2, 0]);
    expect(Array.from(foldAssignment(2, 5))).toEqual([0, 1]);
    expect(fitFolds(samples(10, 1), meanDiff(), 5).directions).toHaveLength(5);
  });

  it('is perfect for a clear concept and near chance for none', () => {
    const clear = separability(samples(40, 5), meanDiff(), 5);
    expect(clear.accuracy).toBe(1);
    expect(clear.probeAccuracy).toBe(1);
    expect(clear.effectSize).toBeGreaterThan(3);
    expect(clear.margin).toBeGreaterThan(4);
    const none = separability(samples(200, 0), meanDiff(), 5);
    expect(none.accuracy).toBeGreaterThan(0.3);
    expect(none.accuracy).toBeLessThan(0.7);
    expect(Math.abs(none.effectSize)).toBeLessThan(0.4);
  });
});

describe('fluentRange', () => {
  const pt = (strength: number, perplexityRatio: number): EffectPoint => ({ strength, perplexityRatio, fluency: -Math.log(perplexityRatio), preference: strength, preferenceWins: 1 });
  it('takes the widest contiguous range around zero under the ratio', () => {
    const curve = [pt(-3, 2), pt(-2, 1.4), pt(-1, 1.1), pt(0, 1), pt(1, 1.2), pt(2, 1.6), pt(3, 1.3)];
    expect(fluentRange(curve, 1.5)).toEqual({ min: -2, max: 1 });
  });
});

describe('read positions', () => {
  it('parses and formats', () => {
    expect(parseReadPosition('last')).toEqual({ kind: 'last' });
    expect(parseReadPosition('mean')).toEqual({ kind: 'mean' });
    expect(parseReadPosition('response')).toEqual({ kind: 'response', tokens: 64 });
    expect(parseReadPosition('response:8')).toEqual({ kind: 'response', tokens: 8 });
    expect(parseReadPosition('index:-2')).toEqual({ kind: 'index', index: -2 });
    expect(formatReadPosition(parseReadPosition('index:-2'))).toBe('index:-2');
    for (const bad of ['first', 'response:0', 'index:x']) expect(() => parseReadPosition(bad)).toThrow(InvalidSpecError);
  });
});
