/**
 * Best-of-N selectors: pure functions of the candidates' rewards R, utility
 * matrix u, summed log-probs log π_ref(y|x), lengths |y| (tokens), β and an
 * rng. N candidates y_1..y_N are drawn from π_ref for one prompt.
 *
 *   bon         argmax_i R_i
 *   mbr         argmax_i ū_i,            ū_i = (1/N) Σ_j u(y_i, y_j)   (j = i included)
 *   mbr-bon     argmax_i R_i + β·ū_i     (Jinnai et al. 2024, MBR-BoN)
 *   kl-bon      argmax_i R_i + β·log π_ref(y_i|x)   (Jinnai et al. 2024, KL-BoN);
 *               with several references, log π_ref is MRPO's combined l̃ of
 *               them over the candidates (src/prefs/pool-reference.ts)
 *   length-bon  argmax_i R_i − β·|y_i|   (the sentence-length-regularised BoN
 *               of Ichihara et al. 2025, "Evaluation of Best-of-N Sampling
 *               Strategies for Language Model Alignment", TMLR; |y| in tokens)
 *   soft-kl     samples i with P(i) = exp(R_i/β) / Σ_j exp(R_j/β)
 *
 * soft-kl targets the KL-regularised optimum π*(y) ∝ π_ref(y)·exp(R(y)/β).
 * Because the candidates are already draws from π_ref, π_ref is not applied
 * again: the softmax of R/β over the N draws is sampling-importance-
 * resampling from π*, exact as N → ∞ (duplicated draws keep one weight each,
 * so a frequent response is picked in proportion to its multiplicity).
 * β = 0 is its limit, argmax R. The returned objective is R_i/β, the
 * log-weights (R_i when β = 0).
 *
 * Deterministic selectors break ties by the lowest index. Inputs are checked:
 * N ≥ 1, β ≥ 0 and finite, every array of length N (u of N²), every value
 * finite; a bad value is reported with its candidate index.
 */
import { InvalidArgumentError } from '../errors.js';
import { DEFAULT_CRITERION_PARAMS } from '../prefs/criteria.js';
import { mrpoPoolReference } from '../prefs/pool-reference.js';

export interface SelectionInput {
  /** R(y_i), N values. Required by all but `mbr`. */
  rewards?: ArrayLike<number>;
  /** u(y_i, y_j) row-major, N² values. Required by `mbr` and `mbr-bon`. */
  utility?: ArrayLike<number>;
  /** log π_ref(y_i | x), summed over tokens. Required by `kl-bon` (or `references`). */
  logprobs?: ArrayLike<number>;
  /**
   * `kl-bon` with several reference models: references[k][i] = log π_k(y_i | x),
   * the first the anchor (MRPO's initial policy). Replaces `logprobs` by MRPO's
   * combined reference l̃ over the candidates (src/prefs/pool-reference.ts).
   */
  references?: readonly ArrayLike<number>[];
  /** MRPO clipping ε in (0, 1) for `references` (default 0.1). */
  epsilon?: number;
  /** |y_i| in tokens. Required by `length-bon`. */
  lengths?: ArrayLike<number>;
  /** Regularisation strength, ≥ 0. Required by the regularised selectors. */
  beta?: number;
  /** Uniform [0, 1) generator. Required by `soft-kl`. */
  rng?: () => number;
}

export interface Selection {
  /** The chosen candidate. */
  index: number;
  /** The per-candidate objective the selector maximised (soft-kl: R/β). */
  objective: Float64Array;
  /** soft-kl only: the sampling distribution over the candidates. */
  probabilities?: Float64Array;
}

export type Selector = (input: SelectionInput) => Selection;

/** A registered selector's name (see registry.ts): bon, mbr, mbr-bon, kl-bon, soft-kl, length-bon, or one added with registerSelector. */
export type SelectorName = string;

/** N from whichever arrays are given (they must agree). */
function candidateCount(input: SelectionInput, who: string): number {
  const counts: [string, number][] = [];
  if (input.rewards) counts.push(['rewards', input.rewards.length]);
  if (input.logprobs) counts.push(['logprobs', input.logprobs.length]);
  if (input.lengths) counts.push(['lengths', input.lengths.length]);
  input.references?.forEach((r, k) => counts.push([`references[${k}]`, r.length]));
  if (input.utility) counts.push(['utility', Math.round(Math.sqrt(input.utility.length))]);
  const n = counts[0]?.[1] ?? 0;
  if (n < 1) throw new InvalidArgumentError(`${who}: needs at least one candidate (N = ${n})`);
  for (const [name, c] of counts) {
    if (c !== n) throw new InvalidArgumentError(`${who}: ${name} has ${c} candidates, ${counts[0]?.[0]} has ${n}`);
  }
  if (input.utility && input.utility.length !== n * n) throw new InvalidArgumentError(`${who}: utility has ${input.utility.length} entries, expected ${n}×${n}`);
  return n;
}

function required<T>(value: T | undefined, who: string, what: string): T {
  if (value === undefined) throw new InvalidArgumentError(`${who}: needs ${what}`);
  return value;
}

function finiteValues(values: ArrayLike<number>, who: string, what: string): ArrayLike<number> {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new InvalidArgumentError(`${who}: ${what}[${i}] is ${values[i]} (candidate ${i}); every value must be finite`);
  }
  return values;
}

function checkBeta(input: SelectionInput, who: string): number {
  const beta = required(input.beta, who, 'beta');
  if (!Number.isFinite(beta) || beta < 0) throw new InvalidArgumentError(`${who}: beta must be a finite number ≥ 0, got ${beta}`);
  return beta;
}

/** Index of the largest value; ties go to the lowest index. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] as number) > (values[best] as number)) best = i;
  return best;
}

/** ū_i = (1/N) Σ_j u(y_i, y_j), the row means of the N×N matrix. */
export function meanUtility(utility: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += utility[i * n + j] as number;
    out[i] = s / n;
  }
  return out;
}

/** R_i + β·x_i, or R_i alone when β = 0 (so x is ignored). */
function combine(rewards: ArrayLike<number>, beta: number, x: ArrayLike<number>, sign: 1 | -1): Float64Array {
  const out = Float64Array.from(rewards);
  if (beta !== 0) for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + sign * beta * (x[i] as number);
  return out;
}

function pick(objective: Float64Array): Selection {
  return { index: argmax(objective), objective };
}

export const bon: Selector = (input) => {
  candidateCount(input, 'bon');
  return pick(Float64Array.from(finiteValues(required(input.rewards, 'bon', 'rewards'), 'bon', 'rewards')));
};

export const mbr: Selector = (input) => {
  const n = candidateCount(input, 'mbr');
  return pick(meanUtility(finiteValues(required(input.utility, 'mbr', 'a utility matrix'), 'mbr', 'utility'), n));
};

export const mbrBon: Selector = (input) => {
  const who = 'mbr-bon';
  const n = candidateCount(input, who);
  const rewards = finiteValues(required(input.rewards, who, 'rewards'), who, 'rewards');
  const beta = checkBeta(input, who);
  const u = meanUtility(finiteValues(required(input.utility, who, 'a utility matrix'), who, 'utility'), n);
  return pick(combine(rewards, beta, u, 1));
};

/** l̃ of several references (MRPO's combination over the candidates); one reference is used as it is. */
function combinedReference(references: readonly ArrayLike<number>[], rewards: ArrayLike<number>, epsilon: number, who: string): ArrayLike<number> {
  if (references.length === 0) throw new InvalidArgumentError(`${who}: references is empty`);
  references.forEach((r, k) => finiteValues(r, who, `references[${k}]`));
  if (references.length === 1) return references[0] as ArrayLike<number>;
  return mrpoPoolReference(references, rewards, epsilon).combined;
}

export const klBon: Selector = (input) => {
  const who = 'kl-bon';
  candidateCount(input, who);
  const rewards = finiteValues(required(input.rewards, who, 'rewards'), who, 'rewards');
  const beta = checkBeta(input, who);
  if (input.references && input.logprobs) throw new InvalidArgumentError(`${who}: give logprobs (one reference) or references (several), not both`);
  const logprobs = input.references
    ? combinedReference(input.references, rewards, input.epsilon ?? DEFAULT_CRITERION_PARAMS.epsilon, who)
    : finiteValues(required(input.logprobs, who, 'log-probs (summed log π_ref(y|x))'), who, 'logprobs');
  return pick(combine(rewards, beta, logprobs, 1));
};

export const lengthBon: Selector = (input) => {
  const who = 'length-bon';
  candidateCount(input, who);
  const rewards = finiteValues(required(input.rewards, who, 'rewards'), who, 'rewards');
  const beta = checkBeta(input, who);
  const lengths = finiteValues(required(input.lengths, who, 'lengths (tokens)'), who, 'lengths');
  for (let i = 0; i < lengths.length; i++) {
    if ((lengths[i] as number) < 0) throw new InvalidArgumentError(`${who}: lengths[${i}] is negative (candidate ${i})`);
  }
  return pick(combine(rewards, beta, lengths, -1));
};

/** P(i) ∝ exp(R_i/β) over the draws (see the module comment); β = 0 is argmax R. */
export function softKlProbabilities(rewards: ArrayLike<number>, beta: number): { logits: Float64Array; probabilities: Float64Array } {
  const n = rewards.length;
  const probabilities = new Float64Array(n);
  if (beta === 0) {
    probabilities[argmax(rewards)] = 1;
    return { logits: Float64Array.from(rewards), probabilities };
  }
  const logits = Float64Array.from(rewards, (r) => r / beta);
  let max = -Infinity;
  for (const l of logits) if (l > max) max = l;
  let z = 0;
  for (let i = 0; i < n; i++) { const e = Math.exp((logits[i] as number) - max); probabilities[i] = e; z += e; }
  for (let i = 0; i < n; i++) probabilities[i] = (probabilities[i] as number) / z;
  return { logits, probabilities };
}

export const softKl: Selector = (input) => {
  const who = 'soft-kl';
  candidateCount(input, who);
  const rewards = finiteValues(required(input.rewards, who, 'rewards'), who, 'rewards');
  const beta = checkBeta(input, who);
  const rng = required(input.rng, who, 'an rng (uniform [0, 1))');
  const { logits, probabilities } = softKlProbabilities(rewards, beta);
  const u = rng();
  if (!(u >= 0 && u < 1)) throw new InvalidArgumentError(`${who}: rng returned ${u}, expected a number in [0, 1)`);
  let index = probabilities.length - 1;
  let acc = 0;
  for (let i = 0; i < probabilities.length; i++) {
    acc += probabilities[i] as number;
    if (u < acc) { index = i; break; }
  }
  // Never land on a zero-probability candidate through rounding at the top end.
  while ((probabilities[index] as number) === 0 && index > 0) index--;
  return { index, objective: logits, probabilities };
};
