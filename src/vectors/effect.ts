/**
 * Steering effect on held-out pairs, by forward passes only (score()).
 *
 * For each pair, the direction fitted without the pair's fold steers every
 * position at strength s; we compare with the unsteered model:
 *
 * - preference: Δlogπ(chosen) − Δlogπ(rejected), summed log-probs, in nats
 *   (the DPO-style implicit reward of the steering, positive = toward chosen);
 * - fluency: the mean change of the per-token log-prob of both responses,
 *   reported as a perplexity ratio exp(−Δ). Steering toward one side raises
 *   one response and lowers the other; what is left on average is damage.
 *
 * Instruction contrasts have one response, so they get fluency only.
 */
import type { HookedModel } from '../model/hooked-model.js';
import type { Intervention } from '../steering/plan.js';
import type { EncodedPair } from '../pairs/encode.js';

export interface EffectPoint {
  strength: number;
  /** Mean over pairs of Δlogπ(chosen) − Δlogπ(rejected) (nats); null for instruction contrasts. */
  preference: number | null;
  /** Fraction of pairs whose preference moved toward chosen (null for instruction contrasts). */
  preferenceWins: number | null;
  /** Mean change of per-token log-prob over both responses (nats/token). */
  fluency: number;
  /** exp(−fluency): perplexity of the pair texts under steering ÷ unsteered. */
  perplexityRatio: number;
}

export interface EffectInput {
  pairs: readonly EncodedPair[];
  /** Fold of each pair. */
  foldOf: Int32Array;
  /** Per site, the direction fitted without each fold. */
  directions: ReadonlyMap<string, readonly Float32Array[]>;
  kind: 'responses' | 'instructions';
}

export interface PairScore { pos: number; neg: number }

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Scores both sides of a pair under every plan in one batched call per
 * prompt (per-row plans; a null plan is the unsteered model).
 */
async function scorePair(model: HookedModel, p: EncodedPair, plans: readonly (Intervention[] | null)[]): Promise<PairScore[]> {
  const G = plans.length;
  if (sameIds(p.prompt.pos, p.prompt.neg)) {
    const conts = plans.flatMap(() => [p.continuation.pos, p.continuation.neg]);
    const rows = plans.flatMap((plan) => [plan, plan]);
    const scored = await model.score(p.prompt.pos, conts, { steering: { rows } });
    return plans.map((_, g) => ({ pos: scored[2 * g]?.logprob ?? 0, neg: scored[2 * g + 1]?.logprob ?? 0 }));
  }
  const a = await model.score(p.prompt.pos, plans.map(() => p.continuation.pos), { steering: { rows: plans } });
  const b = await model.score(p.prompt.neg, plans.map(() => p.continuation.neg), { steering: { rows: plans } });
  return Array.from({ length: G }, (_, g) => ({ pos: a[g]?.logprob ?? 0, neg: b[g]?.logprob ?? 0 }));
}

/** Summed log-probs of both sides of every pair at every grid strength (grid[0…] ascending, 0 included). */
export interface EffectScores {
  grid: number[];
  /** scores[i][g]: pair i at grid[g] (`pos` = chosen, `neg` = rejected). */
  scores: PairScore[][];
}

/** Scores every pair under every strength (the direction fitted without the pair's fold). */
export async function effectScores(model: HookedModel, input: EffectInput, strengths: readonly number[], onPair?: () => void): Promise<EffectScores> {
  const { pairs, foldOf, directions } = input;
  const grid = [...new Set([0, ...strengths])].sort((a, b) => a - b);
  const scores: PairScore[][] = [];
  for (let i = 0; i < pairs.length; i++) {
    const p = pairs[i] as EncodedPair;
    const fold = foldOf[i] as number;
    const plans = grid.map((s) => {
      if (s === 0) return null;
      const plan: Intervention[] = [];
      for (const [site, dirs] of directions) plan.push({ site, vector: dirs[fold] as Float32Array, strength: s });
      return plan;
    });
    scores.push(await scorePair(model, p, plans));
    onPair?.();
  }
  return { grid, scores };
}

/** The effect curve from scores (pure). */
export function curveFromScores(input: Pick<EffectInput, 'pairs' | 'kind'>, { grid, scores }: EffectScores): EffectPoint[] {
  const { pairs } = input;
  const sums = grid.map(() => ({ pref: 0, wins: 0, flu: 0 }));
  const zero = grid.indexOf(0);
  for (let i = 0; i < pairs.length; i++) {
    const p = pairs[i] as EncodedPair;
    const row = scores[i] as PairScore[];
    const b = row[zero] as PairScore;
    const posTokens = p.continuation.pos.length;
    const negTokens = p.continuation.neg.length;
    for (let g = 0; g < grid.length; g++) {
      const sc = row[g] as PairScore;
      const acc = sums[g] as { pref: number; wins: number; flu: number };
      const pref = (sc.pos - b.pos) - (sc.neg - b.neg);
      acc.pref += pref;
      acc.wins += pref > 0 ? 1 : 0;
      acc.flu += ((sc.pos - b.pos) / posTokens + (sc.neg - b.neg) / negTokens) / 2;
    }
  }
  const n = pairs.length;
  return grid.map((strength, g) => {
    const acc = sums[g] as { pref: number; wins: number; flu: number };
    const fluency = acc.flu / n;
    const hasPref = input.kind === 'responses';
    return {
      strength,
      preference: hasPref ? acc.pref / n : null,
      preferenceWins: hasPref ? (strength === 0 ? 0 : acc.wins / n) : null,
      fluency,
      perplexityRatio: Math.exp(-fluency),
    };
  });
}

/** The effect curve over `strengths` (strength 0 is the baseline and always reported). */
export async function effectCurve(model: HookedModel, input: EffectInput, strengths: readonly number[], onPair?: () => void): Promise<EffectPoint[]> {
  return curveFromScores(input, await effectScores(model, input, strengths, onPair));
}

/** The widest grid range around 0 whose perplexity ratio stays ≤ `maxRatio`. */
export function fluentRange(curve: readonly EffectPoint[], maxRatio: number): { min: number; max: number } {
  const sorted = [...curve].sort((a, b) => a.strength - b.strength);
  const zero = sorted.findIndex((p) => p.strength === 0);
  let lo = zero;
  while (lo > 0 && (sorted[lo - 1] as EffectPoint).perplexityRatio <= maxRatio) lo--;
  let hi = zero;
  while (hi < sorted.length - 1 && (sorted[hi + 1] as EffectPoint).perplexityRatio <= maxRatio) hi++;
  return { min: (sorted[lo] as EffectPoint).strength, max: (sorted[hi] as EffectPoint).strength };
}
