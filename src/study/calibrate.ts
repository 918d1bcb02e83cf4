/**
 * β of the regularised selectors, per proxy, on held-out dev prompts against
 * the gold reward (the harness's rule: the β whose picks have the highest mean
 * gold at the largest N; ties to the smaller β; see calibrateBeta).
 *
 * The proxies of a ladder live on different scales (a per-token valence, a
 * keyword count, a projection, a word count), and so do the regularisers (ū
 * of cosines varies by 10⁻³, log π_ref by tens of nats). So the grid is
 * relative: β = c · s, with s = mean_dev sd(proxy) / mean_dev sd(regulariser)
 * (within-pool standard deviations over the N_max dev candidates) and c from
 * a fixed log grid. c = 1 weighs a one-sd change of the regulariser like a
 * one-sd change of the proxy; c = 0 is plain BoN.
 */
import { calibrateBeta, type CalibrationPrompt } from '../selection/calibrate.js';
import { meanUtility } from '../selection/selectors.js';
import { isValid, type Pool } from '../ab/pool.js';
import { subMatrix } from '../ab/pool-selection.js';

/** The regularised selectors of the study. */
export const REGULARISED = ['mbr-bon', 'kl-bon'] as const;
export type Regularised = (typeof REGULARISED)[number];

/** Relative β grid (multiples of the proxy-to-regulariser scale). */
export const RELATIVE_BETA_GRID: readonly number[] = [0, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30];

function sd(v: readonly number[]): number {
  if (v.length < 2) return 0;
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
}

function validIndices(pool: Pool, n: number): number[] {
  return pool.candidates.slice(0, n).filter((c) => isValid(c, true)).map((c) => c.index);
}

/** The regulariser of each candidate in `subset`: ū over the subset (mbr-bon) or log π_ref (kl-bon). */
export function regulariser(pool: Pool, selector: Regularised, subset: readonly number[]): number[] {
  if (selector === 'kl-bon') return subset.map((i) => pool.candidates[i]?.refLogprob ?? NaN);
  return Array.from(meanUtility(subMatrix(pool.utility, pool.candidates.length, subset), subset.length));
}

/** s = mean sd(proxy) / mean sd(regulariser) over the pools' valid candidates (1 when either is 0). */
export function betaScale(pools: readonly Pool[], selector: Regularised): number {
  let sp = 0; let sr = 0;
  for (const p of pools) {
    const idx = validIndices(p, p.candidates.length);
    sp += sd(idx.map((i) => p.candidates[i]?.proxy as number));
    sr += sd(regulariser(p, selector, idx));
  }
  return sp > 0 && sr > 0 ? sp / sr : 1;
}

export interface SelectorCalibration {
  selector: Regularised;
  scale: number;
  /** The relative grid c and the β = c·scale it stands for. */
  relative: number[];
  betas: number[];
  ns: number[];
  /** meanGold[b][k]: mean dev gold of the picks with betas[b] at ns[k]. */
  meanGold: number[][];
  /** The run's β: the best at the largest N, with its c. */
  chosen: { beta: number; relative: number; meanGold: number };
}

function devPrompt(pool: Pool, n: number, selector: Regularised): CalibrationPrompt | null {
  const idx = validIndices(pool, n);
  if (idx.length === 0) return null;
  const prompt: CalibrationPrompt = { proxy: idx.map((i) => pool.candidates[i]?.proxy as number), gold: idx.map((i) => pool.candidates[i]?.gold as number) };
  if (selector === 'mbr-bon') prompt.utility = subMatrix(pool.utility, pool.candidates.length, idx);
  else prompt.logprobs = idx.map((i) => pool.candidates[i]?.refLogprob ?? NaN);
  return prompt;
}

export function calibrateSelector(pools: readonly Pool[], selector: Regularised, ns: readonly number[], relative: readonly number[] = RELATIVE_BETA_GRID): SelectorCalibration {
  const scale = betaScale(pools, selector);
  const rel = [...new Set(relative)].sort((a, b) => a - b);
  const betas = rel.map((c) => c * scale);
  const sortedNs = [...new Set(ns)].sort((a, b) => a - b);
  const tables = sortedNs.map((n) => calibrateBeta(pools.flatMap((p) => devPrompt(p, n, selector) ?? []), { selector, betas }).table);
  // calibrateBeta sorts and dedups its grid; betas is already ascending and distinct unless scale collapses it
  const meanGold = betas.map((b) => tables.map((t) => t.find((r) => r.beta === b)?.meanGold ?? NaN));
  const last = meanGold.map((row) => row[row.length - 1] as number);
  let best = 0;
  for (let b = 1; b < last.length; b++) if ((last[b] as number) > (last[best] as number)) best = b;
  return {
    selector, scale, relative: rel, betas, ns: sortedNs, meanGold,
    chosen: { beta: betas[best] as number, relative: rel[best] as number, meanGold: last[best] as number },
  };
}
