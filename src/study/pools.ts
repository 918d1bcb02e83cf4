/**
 * Shared pools of the overoptimization study. Per prompt, N_max candidates
 * are drawn once from π_ref (and, with a steering plan, N_max once from the
 * steered model), in one batched generate() each. Everything a selector or a
 * judge reads is computed once per pool:
 *
 *   log π_ref (generate() for the reference pool; score() for the steered one, with log π_s)
 *   → pooled activations (one capture under π_ref, at the sites the utility and
 *     rewards read: a probe reward or a hidden-state utility judges the text the
 *     same way whichever policy wrote it)
 *   → every reward of the ladder and the gold reward (one batch each)
 *   → the N_max × N_max utility matrix.
 *
 * A ladder pool then gives one ordinary Pool per proxy (`poolFor`): the same
 * candidates with that proxy and the gold reward filled in, sharing the one
 * utility matrix, so every selector, β calibration and KL estimate of
 * src/ab runs unchanged, on the first N rows (sub-matrices of one matrix).
 */
import { InvalidArgumentError } from '../errors.js';
import type { Reward } from '../rewards/types.js';
import type { HookedModel } from '../model/hooked-model.js';
import type { Intervention } from '../steering/plan.js';
import type { Utility } from '../utilities/types.js';
import { capturePool, drawPool, rewardItems, scorePool, utilityPool, type Pool, type SamplingOptions } from '../ab/pool.js';
import { scoreRewards, type InvalidReward } from '../ab/scoring.js';

export interface LadderPool {
  /** The drawn pool; its candidates carry no proxy or gold (see `rewards`). */
  pool: Pool;
  /** rewards[spec][i]: candidate i's reward, null when invalid. */
  rewards: Record<string, (number | null)[]>;
  invalid: InvalidReward[];
}

export interface DrawLadderOptions {
  n: number;
  sampling?: SamplingOptions;
  steering?: readonly Intervention[];
  key?: string;
  strength?: number | null;
  promptIndex?: number;
  /** Every reward to score: the gold reward and each proxy (specs must be distinct). */
  rewards: readonly Reward[];
  utility: Utility;
}

export async function drawLadderPool(model: HookedModel, prompt: string, o: DrawLadderOptions): Promise<LadderPool> {
  const specs = o.rewards.map((r) => r.spec);
  if (new Set(specs).size !== specs.length) throw new InvalidArgumentError(`the study's rewards must be distinct, got ${specs.join(', ')}`);
  const pool = await drawPool(model, prompt, {
    n: o.n, sampling: o.sampling ?? {},
    ...(o.steering && o.steering.length > 0 ? { steering: o.steering } : {}),
    ...(o.key !== undefined ? { key: o.key } : {}),
    ...(o.strength !== undefined ? { strength: o.strength } : {}),
    ...(o.promptIndex !== undefined ? { promptIndex: o.promptIndex } : {}),
  });
  await scorePool(model, pool, o.steering);
  const sites = [...new Set([...o.utility.sites, ...o.rewards.flatMap((r) => r.sites)])];
  // Unsteered capture, also for a steered pool: rewards and utilities are functions of the text, the same for every arm.
  const activations = await capturePool(model, pool, sites);
  const items = rewardItems(pool, activations);
  const rewards: Record<string, (number | null)[]> = {};
  const invalid: InvalidReward[] = [];
  const t = performance.now();
  for (const r of o.rewards) {
    const scored = await scoreRewards(r, items, r.spec);
    rewards[r.spec] = scored.values;
    invalid.push(...scored.invalid);
  }
  pool.timing.rewardMs += performance.now() - t;
  await utilityPool(pool, items, o.utility);
  return { pool, rewards, invalid };
}

/** The pool as the src/ab selectors see it with `proxy` selecting and `gold` judging (candidates copied, utility shared). */
export function poolFor(lp: LadderPool, proxy: string, gold: string): Pool {
  const p = lp.rewards[proxy];
  const g = lp.rewards[gold];
  if (!p) throw new InvalidArgumentError(`pool ${lp.pool.key} of prompt ${lp.pool.promptIndex} has no reward "${proxy}"`);
  if (!g) throw new InvalidArgumentError(`pool ${lp.pool.key} of prompt ${lp.pool.promptIndex} has no reward "${gold}"`);
  return {
    ...lp.pool,
    candidates: lp.pool.candidates.map((c, i) => ({ ...c, proxy: p[i] ?? null, gold: g[i] ?? null })),
    invalid: lp.invalid.filter((x) => x.reward === proxy || x.reward === gold),
  };
}
