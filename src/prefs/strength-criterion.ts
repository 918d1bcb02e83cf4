/**
 * Preference criteria over a strength grid (pure): the sweep's held-out
 * scores of every pair at every strength become a DPO, RPO or MRPO loss per
 * strength, with the steered model as the policy. The reference is the
 * unsteered model (the grid's strength 0) unless reference models are given;
 * MRPO needs two of them (the initial policy first, then the external one).
 *
 * The point of RPO here is the guard of Liu et al. 2024: DPO alone rewards any
 * strength that widens the chosen − rejected gap, even one that lowers the
 * chosen response's log-prob (the text gets worse, the rejected text just gets
 * worse faster); RPO's η·β·(−log π(y_w)) term charges for that fall.
 */
import { InvalidArgumentError } from '../errors.js';
import { checkCriterionParams, preferenceCriteria, type CriterionParams, type PolicyLogprobs, type SideLogprobs } from './criteria.js';

export const CRITERIA = ['dpo', 'rpo', 'mrpo'] as const;
export type CriterionName = (typeof CRITERIA)[number];

export function isCriterionName(name: string): name is CriterionName {
  return (CRITERIA as readonly string[]).includes(name);
}

export interface CriterionPoint {
  strength: number;
  /** The criterion's loss (lower is better). */
  loss: number;
  dpoLoss: number;
  /** Mean DPO margin β·[Δ chosen − Δ rejected] against the (first) reference. */
  margin: number;
  accuracy: number;
  /** Mean log π(y_w) − log π_ref(y_w), nats. */
  chosenShift: number;
  rejectedShift: number;
}

export interface CriterionCurve {
  name: CriterionName;
  params: CriterionParams;
  /** `unsteered` or the reference models' directories. */
  references: string[];
  points: CriterionPoint[];
  /** The strength with the lowest loss (ties to the smaller |strength|). */
  best: CriterionPoint;
}

export interface GridScores {
  grid: readonly number[];
  /** scores[i][g]: pair i at grid[g]. */
  scores: readonly (readonly { pos: number; neg: number }[])[];
  /** Token counts of each pair's chosen and rejected response. */
  tokens: readonly { chosen: number; rejected: number }[];
}

export function criterionCurve(name: CriterionName, data: GridScores, params: CriterionParams, references?: { dirs: string[]; scores: readonly (readonly SideLogprobs[])[] }): CriterionCurve {
  checkCriterionParams(params);
  const refs = references?.scores ?? [];
  if (name === 'mrpo' && refs.length < 2) {
    throw new InvalidArgumentError(`the mrpo criterion needs two reference models (the initial policy, then the external reference); got ${refs.length}`);
  }
  const zero = data.grid.indexOf(0);
  if (zero < 0) throw new InvalidArgumentError('the strength grid has no 0 (the unsteered model)');
  const unsteered: SideLogprobs[] = data.scores.map((row) => ({ chosen: (row[zero] as { pos: number }).pos, rejected: (row[zero] as { neg: number }).neg }));
  const refList = refs.length > 0 ? refs : [unsteered];
  const points = data.grid.map((strength, g): CriterionPoint => {
    const policy: PolicyLogprobs[] = data.scores.map((row, i) => {
      const s = row[g] as { pos: number; neg: number };
      const t = data.tokens[i] as { chosen: number; rejected: number };
      return { chosen: s.pos, rejected: s.neg, chosenTokens: t.chosen, rejectedTokens: t.rejected };
    });
    const c = preferenceCriteria(policy, refList, params);
    const loss = name === 'dpo' ? c.dpo.loss : name === 'rpo' ? c.rpo.loss : (c.mrpo as { loss: number }).loss;
    return { strength, loss, dpoLoss: c.dpo.loss, margin: c.dpo.margin, accuracy: c.dpo.accuracy, chosenShift: c.chosenShift, rejectedShift: c.rejectedShift };
  });
  const best = points.reduce((a, b) => (b.loss < a.loss || (b.loss === a.loss && Math.abs(b.strength) < Math.abs(a.strength)) ? b : a));
  return { name, params: { ...params }, references: references?.dirs ?? ['unsteered'], points, best };
}
