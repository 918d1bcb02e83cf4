/**
 * The sweep's criterion over a strength grid, on hand-made scores where DPO
 * alone prefers a strength that lowers the chosen log-prob and RPO does not.
 *
 *   strength  chosen  rejected   margin (β 1)  −log σ        nll
 *      0       −20      −20          0         0.693147      20
 *      1       −19      −22          3         0.048587      19
 *      2       −25      −32          7         0.000911      25   ← DPO's pick: chosen fell 5 nats
 *   RPO (η 1): 19.0486 at 1 < 25.0009 at 2 → picks 1
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { criterionCurve } from '../../src/prefs/strength-criterion.js';

const row = [{ pos: -20, neg: -20 }, { pos: -19, neg: -22 }, { pos: -25, neg: -32 }];
const data = { grid: [0, 1, 2], scores: [row, row], tokens: [{ chosen: 10, rejected: 10 }, { chosen: 10, rejected: 10 }] };

describe('criterionCurve', () => {
  it('DPO alone picks the strength whose margin is widest although the chosen log-prob falls', () => {
    const c = criterionCurve('dpo', data, { beta: 1, eta: 0, epsilon: 0.1 });
    expect(c.best.strength).toBe(2);
    expect(c.best.chosenShift).toBeCloseTo(-5, 12);
    expect(c.best.margin).toBeCloseTo(7, 12);
    expect(c.points[1]!.loss).toBeCloseTo(Math.log1p(Math.exp(-3)), 12);
    expect(c.references).toEqual(['unsteered']);
  });

  it('RPO charges for the fall and picks the strength that raises the chosen response', () => {
    const c = criterionCurve('rpo', data, { beta: 1, eta: 1, epsilon: 0.1 });
    expect(c.best.strength).toBe(1);
    expect(c.best.loss).toBeCloseTo(Math.log1p(Math.exp(-3)) + 19, 12);
  });

  it('uses given references instead of the unsteered model, and needs two for MRPO', () => {
    const ref = [{ chosen: -19, rejected: -22 }, { chosen: -19, rejected: -22 }];
    const c = criterionCurve('dpo', data, { beta: 1, eta: 0, epsilon: 0.1 }, { dirs: ['r'], scores: [ref] });
    expect(c.points[1]!.margin).toBeCloseTo(0, 12);
    expect(() => criterionCurve('mrpo', data, { beta: 1, eta: 0, epsilon: 0.1 }, { dirs: ['r'], scores: [ref] })).toThrow(InvalidArgumentError);
    const m = criterionCurve('mrpo', data, { beta: 1, eta: 0, epsilon: 0.1 }, { dirs: ['a', 'b'], scores: [ref, ref] });
    // Two equal references combine to themselves.
    expect(m.points[1]!.loss).toBeCloseTo(Math.LN2, 10);
  });

  it('refuses β ≤ 0', () => {
    expect(() => criterionCurve('dpo', data, { beta: 0, eta: 0, epsilon: 0.1 })).toThrow(/β must be/);
  });
});
