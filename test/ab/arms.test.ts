/** Any registered selector becomes an A/B arm through `selectors`, with its needs read from the registry. */
import { describe, expect, it } from 'vitest';
import { defineArms, pickFor } from '../../src/ab/arms.js';
import { klBound } from '../../src/ab/kl.js';
import { registerSelector } from '../../src/selection/registry.js';
import { argmax } from '../../src/math/stats.js';
import { needs } from '../../src/selection/spec.js';
import { fakePool } from './helpers.js';

describe('selector arms', () => {
  it('keeps the default arms: bon and mbr-bon at every N', () => {
    expect(defineArms({ ns: [2, 4], strengths: [], beta: 0.5 }).map((a) => a.id)).toEqual(['baseline', 'bon(2)', 'bon(4)', 'mbr-bon(2, β=0.5)', 'mbr-bon(4, β=0.5)']);
  });

  it('adds any registered selector as an arm, with β only when it reads one', () => {
    const arms = defineArms({ ns: [3], strengths: [], beta: 2, selectors: ['bon', 'kl-bon', 'length-bon', 'mbr'] });
    expect(arms.map((a) => a.id)).toEqual(['baseline', 'bon(3)', 'kl-bon(3, β=2)', 'length-bon(3, β=2)', 'mbr(3)']);
    const kl = arms.find((a) => a.method === 'kl-bon');
    expect(kl).toMatchObject({ kind: 'selector', beta: 2, n: 3, pool: 'reference' });
    expect(arms.find((a) => a.method === 'mbr')?.beta).toBeNull();
  });

  it('a selector registered from outside is an arm that picks on the pool with what it declared', () => {
    registerSelector({
      name: 'test-shortest', description: 'argmin |y|', needs: needs('lengths'),
      select: (input) => {
        const objective = Float64Array.from(input.lengths ?? [], (l) => -l);
        return { index: argmax(objective), objective };
      },
    });
    const pool = fakePool([{ proxy: 1, ids: [1, 2, 3] }, { proxy: 0, ids: [4] }, { proxy: 2, ids: [5, 6] }]);
    const [, arm] = defineArms({ ns: [3], strengths: [], beta: 1, selectors: ['test-shortest'] });
    expect(arm?.id).toBe('test-shortest(3)');
    expect(pickFor(arm!, pool).chosen).toBe(1);
    expect(klBound('test-shortest', 3, false)).toEqual({ value: Math.log(3), formula: 'log N' });
  });
});
