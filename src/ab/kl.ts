/**
 * KL of an arm's policy to the reference model π_ref.
 *
 * - Steering (sampling from π_s): Monte Carlo k1 over the steered samples,
 *   mean of log π_s(y) − log π_ref(y), both summed log-probs from score().
 *
 * - Selection from N draws (BoN, MBR-BoN, …): a plug-in estimate on the pool.
 *   π_ref is replaced by the empirical distribution of the pool's M valid
 *   draws (identical token sequences merged); the selector is run on R
 *   subsets of N indices drawn with replacement from it, which estimates the
 *   selection policy π_sel over the same support; KL = Σ_y π_sel(y)·log(π_sel(y)/π̂_ref(y)),
 *   less the Miller–Madow correction (K − 1)/(2R) for the K outputs picked.
 *   It sees ties (many candidates with the same reward) that the analytic
 *   formula ignores, and it is biased low as N approaches M (it can never
 *   exceed log M). For BoN with distinct rewards and R → ∞ it equals
 *   Σ_k p_k log(M·p_k), p_k = (k/M)^N − ((k−1)/M)^N.
 *
 * - Analytic: log N − (N − 1)/N for BoN (exact for continuous rewards, an
 *   upper bound otherwise; Beirami et al. 2024), and log N for any rule that
 *   returns one of N draws (P_sel(y) ≤ N·π_ref(y)), e.g. MBR-BoN.
 *
 * - Steering followed by selection: KL(π_sel∘s ‖ π_ref) =
 *   E[log π_sel∘s/π_s] + E[log π_s/π_ref] under the selected outputs: the
 *   plug-in term on the steered pool plus the mean steering log-ratio of the
 *   picks.
 */
import { Rng } from '../math/rng.js';
import { selectorKlBound } from '../selection/registry.js';
import type { SelectorName } from '../selection/selectors.js';
import { isValid, type Pool } from './pool.js';
import { selectSubset } from './pool-selection.js';

export interface PluginOptions {
  /** Subsets drawn per pool (default 1000). */
  resamples?: number;
  seed?: number;
  needGold?: boolean;
}

/**
 * The plug-in selection policy on one pool: the pool's valid draws merged
 * into groups of identical token sequences, π̂_ref over the groups (their
 * frequency among the M valid draws) and π̂_sel (the frequency of each group
 * among the picks of `resamples` subsets of n drawn with replacement).
 */
export interface SelectionDistribution {
  /** A representative pool index per group. */
  members: number[];
  ref: Float64Array;
  picks: Float64Array;
  resamples: number;
}

/** The plug-in distributions of a selector at size n on one pool; null when no candidate is valid. */
export function selectionDistribution(pool: Pool, method: SelectorName, n: number, beta: number | null, options: PluginOptions = {}): SelectionDistribution | null {
  const valid = pool.candidates.filter((c) => isValid(c, options.needGold ?? false)).map((c) => c.index);
  const m = valid.length;
  if (m === 0) return null;
  const groupIds = new Map<string, number>();
  const groupOf = new Map<number, number>();
  const members: number[] = [];
  for (const i of valid) {
    const key = (pool.candidates[i]?.ids ?? []).join(',');
    let g = groupIds.get(key);
    if (g === undefined) { g = groupIds.size; groupIds.set(key, g); members.push(i); }
    groupOf.set(i, g);
  }
  const ref = new Float64Array(groupIds.size);
  for (const i of valid) { const g = groupOf.get(i) as number; ref[g] = (ref[g] as number) + 1 / m; }
  if (n === 1) return { members, ref, picks: Float64Array.from(ref), resamples: Infinity }; // one draw, no choice: π_sel = π_ref
  const resamples = options.resamples ?? 1000;
  const rng = new Rng(options.seed ?? 0);
  const picks = new Float64Array(groupIds.size);
  const subset = new Array<number>(n);
  for (let r = 0; r < resamples; r++) {
    for (let k = 0; k < n; k++) subset[k] = valid[Math.floor(rng.next() * m)] as number;
    const { chosen } = selectSubset(pool, subset, method, beta, (options.seed ?? 0) + r + 1);
    if (chosen !== null) { const g = groupOf.get(chosen) as number; picks[g] = (picks[g] as number) + 1 / resamples; }
  }
  return { members, ref, picks, resamples };
}

/** Σ_y π̂_sel(y)·log(π̂_sel(y)/π̂_ref(y)) less the Miller–Madow correction. */
export function pluginKl(d: SelectionDistribution): number {
  if (!Number.isFinite(d.resamples)) return 0;
  let kl = 0;
  let seen = 0;
  for (let g = 0; g < d.picks.length; g++) {
    const p = d.picks[g] as number;
    if (p > 0) { kl += p * Math.log(p / (d.ref[g] as number)); seen++; }
  }
  // Miller–Madow: the plug-in entropy of R draws is low by (K − 1)/(2R), so the KL is high by as much.
  return Math.max(0, kl - (seen - 1) / (2 * d.resamples));
}

/** Plug-in KL(π_sel ‖ π̂_ref) of a selector at size n on one pool; null when no candidate is valid. */
export function selectionKlPlugin(pool: Pool, method: SelectorName, n: number, beta: number | null, options: PluginOptions = {}): number | null {
  const d = selectionDistribution(pool, method, n, beta, options);
  return d === null ? null : pluginKl(d);
}

/** log π_s(y) − log π_ref(y) for a steered candidate (null when not scored). */
export function steeringLogRatio(pool: Pool, index: number): number | null {
  const c = pool.candidates[index];
  if (!c || c.steeredLogprob === undefined || !Number.isFinite(c.refLogprob)) return null;
  return c.steeredLogprob - c.refLogprob;
}

/** The analytic bound for an arm (null when none applies). */
export function klBound(method: SelectorName, n: number, steered: boolean): { value: number; formula: string } | null {
  if (steered || method === 'sample') return null;
  return selectorKlBound(method, n);
}
