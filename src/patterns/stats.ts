/**
 * Pattern statistics and pattern-aware selectors (Chen et al. 2025, RLVR
 * re-weights patterns the model already has: π(r|q) ∝ π_ref(r|q)·exp(p(r)/β)).
 *
 * - p(r): a pattern's verified success rate pooled over prompts, with a
 *   Wilson score interval.
 * - π_ref mass of r for prompt q: Σ_{i∈r} π_ref(y_i|q) / Σ_i π_ref(y_i|q),
 *   from the candidates' summed log-probs (log-sum-exp), averaged over
 *   prompts. `share` is the plain fraction of samples in r, the unweighted
 *   Monte Carlo estimate of π_ref(r|q) (the samples are draws from π_ref).
 *
 * Selectors score one prompt's pool by the **expected** verified success of
 * the candidate they return (exact for the stochastic ones, so no sampling
 * noise is added):
 * - patternWeighted: pick pattern r ∝ mass_q(r)·exp(p(r)/β) among the
 *   patterns present in the pool, then a candidate of r uniformly (β = 0:
 *   the present pattern with the highest p(r));
 * - bonVerifier: Best-of-N by the verifier: success if any candidate passes;
 * - confidence: the candidate with the highest mean token log-prob (the
 *   confidence-based reward the paper warns can lock onto a bad pattern);
 * - random: a uniform candidate.
 */
import { InvalidArgumentError } from '../errors.js';
import { argmax, mean } from '../math/stats.js';

export interface PatternCandidate {
  /** Pattern of the candidate. */
  pattern: number;
  /** 1 if the verifier passed it. */
  success: 0 | 1;
  /** Summed log π_ref(y|x). */
  logprob: number;
  /** Mean token log-prob (confidence). */
  meanLogprob: number;
}

export interface PatternStat {
  id: number;
  size: number;
  share: number;
  refMass: number;
  successes: number;
  success: number;
  ci: [number, number];
}

/** Wilson score interval for `successes` of `n` (95% by default). */
export function wilson(successes: number, n: number, z = 1.959963984540054): [number, number] {
  if (n === 0) return [0, 1];
  const p = successes / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  // At 0 or n successes the bound is exactly 0 or 1 (the formula leaves rounding residue).
  return [successes === 0 ? 0 : Math.max(0, centre - half), successes === n ? 1 : Math.min(1, centre + half)];
}

/** softmax of summed log-probs, per pattern: the π_ref mass of each pattern in one pool. */
export function poolMass(pool: readonly PatternCandidate[], k: number): Float64Array {
  const mass = new Float64Array(k);
  if (pool.length === 0) return mass;
  const max = Math.max(...pool.map((c) => c.logprob));
  let z = 0;
  for (const c of pool) { const w = Math.exp(c.logprob - max); mass[c.pattern] = (mass[c.pattern] as number) + w; z += w; }
  for (let r = 0; r < k; r++) mass[r] = (mass[r] as number) / z;
  return mass;
}

function check(pools: readonly (readonly PatternCandidate[])[], k: number): void {
  pools.forEach((pool, q) => pool.forEach((c, i) => {
    if (!Number.isInteger(c.pattern) || c.pattern < 0 || c.pattern >= k) throw new InvalidArgumentError(`prompt ${q}, candidate ${i}: pattern ${c.pattern} is not in 0 … ${k - 1}`);
    if (c.success !== 0 && c.success !== 1) throw new InvalidArgumentError(`prompt ${q}, candidate ${i}: success must be 0 or 1`);
    if (!Number.isFinite(c.logprob) || !Number.isFinite(c.meanLogprob)) throw new InvalidArgumentError(`prompt ${q}, candidate ${i}: log-probs must be finite`);
  }));
}

/** Per-pattern size, share, π_ref mass and pooled success with its interval. */
export function patternStats(pools: readonly (readonly PatternCandidate[])[], k: number): PatternStat[] {
  check(pools, k);
  const size = new Float64Array(k);
  const wins = new Float64Array(k);
  const mass = new Float64Array(k);
  let total = 0;
  let prompts = 0;
  for (const pool of pools) {
    if (pool.length === 0) continue;
    prompts++;
    const m = poolMass(pool, k);
    for (let r = 0; r < k; r++) mass[r] = (mass[r] as number) + (m[r] as number);
    for (const c of pool) { size[c.pattern] = (size[c.pattern] as number) + 1; wins[c.pattern] = (wins[c.pattern] as number) + c.success; total++; }
  }
  return Array.from({ length: k }, (_, id) => {
    const n = size[id] as number;
    const s = wins[id] as number;
    return { id, size: n, share: total > 0 ? n / total : 0, refMass: prompts > 0 ? (mass[id] as number) / prompts : 0, successes: s, success: n > 0 ? s / n : 0, ci: wilson(s, n) };
  });
}

export type PatternSelectorName = 'patternWeighted' | 'bonVerifier' | 'confidence' | 'random';
export const PATTERN_SELECTOR_NAMES: readonly PatternSelectorName[] = ['patternWeighted', 'bonVerifier', 'confidence', 'random'];

/** Expected verified success of each selector on one pool, given pattern success rates p (from other prompts) and β. */
export type PatternSelector = (pool: readonly PatternCandidate[], p: ArrayLike<number>, beta: number) => number;

export const patternWeighted: PatternSelector = (pool, p, beta) => {
  if (!(beta >= 0) || !Number.isFinite(beta)) throw new InvalidArgumentError(`beta must be a finite number ≥ 0, got ${beta}`);
  const k = p.length;
  const mass = poolMass(pool, k);
  const present = [...new Set(pool.map((c) => c.pattern))];
  const within = (r: number) => mean(pool.filter((c) => c.pattern === r).map((c) => c.success));
  if (beta === 0) {
    let best = present[0] as number;
    for (const r of present) if ((p[r] as number) > (p[best] as number)) best = r;
    return within(best);
  }
  const logits = present.map((r) => Math.log(Math.max(mass[r] as number, 1e-300)) + (p[r] as number) / beta);
  const max = Math.max(...logits);
  const w = logits.map((l) => Math.exp(l - max));
  const z = w.reduce((a, b) => a + b, 0);
  return present.reduce((acc, r, i) => acc + ((w[i] as number) / z) * within(r), 0);
};

export const bonVerifier: PatternSelector = (pool) => (pool.some((c) => c.success === 1) ? 1 : 0);

export const confidence: PatternSelector = (pool) => {
  return (pool[argmax(pool.map((c) => c.meanLogprob))] as PatternCandidate).success;
};

export const random: PatternSelector = (pool) => mean(pool.map((c) => c.success));

export const PATTERN_SELECTORS: Readonly<Record<PatternSelectorName, PatternSelector>> = { patternWeighted, bonVerifier, confidence, random };
