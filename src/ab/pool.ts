/**
 * Candidate pools: the N candidates of one prompt under one policy, drawn by
 * one batched generate() call, then annotated stage by stage:
 *
 *   drawPool → logprobs (π_ref and, when steered, π_steered via score())
 *            → activations (one capture, only if a reward or utility reads them)
 *            → rewards (proxy and gold) → utility matrix.
 *
 * Row k of a batch uses the seed rowSeed(seed, k) whatever n is, so the first
 * N rows of a pool of N_max are the candidates a run with n = N would draw:
 * smaller N are nested subsets of one draw.
 */
import { captureResponseActivations } from '../embed/response-activations.js';
import type { GenerateOptions } from '../generation/options.js';
import type { Reward, RewardItem } from '../rewards/types.js';
import type { HookedModel } from '../model/hooked-model.js';
import type { Intervention } from '../steering/plan.js';
import type { Utility } from '../utilities/types.js';
import { scoreRewards, type InvalidReward } from './scoring.js';

export interface SamplingOptions {
  /** Default 1 (ancestral sampling: the candidates are draws from the model itself). */
  temperature?: number;
  /** Default 1. */
  topP?: number;
  topK?: number;
  /** Default 64. */
  maxNewTokens?: number;
  /** Base seed (default 0). */
  seed?: number;
}

export interface Candidate {
  /** Row of the batch. */
  index: number;
  seed: number;
  text: string;
  ids: number[];
  finishReason: string;
  /** Σ log π(y_t | …) under the policy that sampled it (steered or not), from generate(). */
  logprob: number;
  /** log π_ref(y | x) summed over tokens (the unsteered model). */
  refLogprob: number;
  /** log π_ref per token. */
  refTokenLogprobs: number[];
  /** log π_steered(y | x) from score() with the pool's steering; steered pools only. */
  steeredLogprob?: number;
  /** log π_k(y | x) under each of the run's reference models, when it names several (see references.ts). */
  referenceLogprobs?: number[];
  /** null when the reward returned a non-finite value or none (see `invalid` of the pool). */
  proxy: number | null;
  gold: number | null;
}

export interface PoolTiming {
  generateMs: number;
  generatedTokens: number;
  forwardPasses: number;
  /** Forward passes of the prompt prefill (the rest are one decode step each). */
  prefillPasses: number;
  scoreMs: number;
  captureMs: number;
  captureForwardPasses: number;
  rewardMs: number;
  utilityMs: number;
}

export interface Pool {
  /** `reference`, or `steer:<strength>`. */
  key: string;
  strength: number | null;
  promptIndex: number;
  prompt: string;
  candidates: Candidate[];
  /** Row-major M×M utility over `candidates` (empty until computed). */
  utility: Float64Array;
  invalid: InvalidReward[];
  timing: PoolTiming;
  /** The reference models behind the candidates' referenceLogprobs, and MRPO's ε for combining them. */
  references?: { names: string[]; epsilon: number };
}

export interface DrawOptions {
  n: number;
  sampling?: SamplingOptions;
  steering?: readonly Intervention[];
  key?: string;
  strength?: number | null;
  promptIndex?: number;
}

export const CAPTURE_BATCH = 16;

export function generateOptions(n: number, sampling: SamplingOptions = {}, steering?: readonly Intervention[]): GenerateOptions {
  const o: GenerateOptions = {
    n,
    temperature: sampling.temperature ?? 1,
    topP: sampling.topP ?? 1,
    maxNewTokens: sampling.maxNewTokens ?? 64,
    seed: sampling.seed ?? 0,
  };
  if (sampling.topK !== undefined) o.topK = sampling.topK;
  if (steering && steering.length > 0) o.steering = steering;
  return o;
}

/** One batched generate() call: n candidates of `prompt`, with log-probs of the sampling policy. */
export async function drawPool(model: HookedModel, prompt: string, options: DrawOptions): Promise<Pool> {
  const steered = (options.steering?.length ?? 0) > 0;
  const result = await model.generate(prompt, generateOptions(options.n, options.sampling, options.steering));
  const maxLen = Math.max(0, ...result.rows.map((r) => r.ids.length));
  const candidates = result.rows.map((r): Candidate => {
    const logprob = r.logprobs.reduce((a, b) => a + b, 0);
    return {
      index: r.index, seed: r.seed, text: r.text, ids: r.ids, finishReason: r.finishReason, logprob,
      // Unsteered rows: generate() reports raw-logit log-probs, which are log π_ref.
      refLogprob: steered ? NaN : logprob,
      refTokenLogprobs: steered ? [] : [...r.logprobs],
      proxy: null, gold: null,
    };
  });
  return {
    key: options.key ?? (steered ? 'steered' : 'reference'),
    strength: options.strength ?? null,
    promptIndex: options.promptIndex ?? 0,
    prompt,
    candidates,
    utility: new Float64Array(0),
    invalid: [],
    timing: {
      generateMs: result.timing.totalMs,
      generatedTokens: result.timing.generatedTokens,
      forwardPasses: result.timing.forwardPasses,
      prefillPasses: result.timing.forwardPasses - Math.max(0, maxLen - 1),
      scoreMs: 0, captureMs: 0, captureForwardPasses: 0, rewardMs: 0, utilityMs: 0,
    },
  };
}

/**
 * Fills refLogprob (score() on the unsteered model) and steeredLogprob
 * (score() with the steering) for a steered pool; an unsteered pool already
 * has log π_ref from generate() and is left as it is.
 */
export async function scorePool(model: HookedModel, pool: Pool, steering?: readonly Intervention[]): Promise<void> {
  if (!steering || steering.length === 0) return;
  const t = performance.now();
  const ids = pool.candidates.map((c) => c.ids);
  const ref = await model.score(pool.prompt, ids);
  const steered = await model.score(pool.prompt, ids, { steering });
  pool.candidates.forEach((c, i) => {
    const r = ref[i];
    const s = steered[i];
    if (r) { c.refLogprob = r.logprob; c.refTokenLogprobs = r.tokenLogprobs; }
    if (s) c.steeredLogprob = s.logprob;
  });
  pool.timing.scoreMs += performance.now() - t;
}

/**
 * Pooled response activations at `sites` (one batched capture), or undefined
 * when no site is needed. The capture runs the unsteered model, so a hidden-
 * state utility compares steered candidates in the reference model's space.
 */
/** Response activations of the pool's candidates under the policy that drew them (`steering`, when steered). */
export async function capturePool(model: HookedModel, pool: Pool, sites: readonly string[], steering?: readonly Intervention[]): Promise<Readonly<Record<string, Float32Array>>[] | undefined> {
  if (sites.length === 0) return undefined;
  const t = performance.now();
  const acts = await captureResponseActivations(model, pool.candidates.map((c) => ({ prompt: pool.prompt, ids: c.ids })), sites, {
    batchSize: CAPTURE_BATCH,
    ...(steering && steering.length > 0 ? { steering } : {}),
  });
  pool.timing.captureMs += performance.now() - t;
  pool.timing.captureForwardPasses += Math.ceil(pool.candidates.length / CAPTURE_BATCH);
  return acts;
}

export function rewardItems(pool: Pool, activations?: readonly Readonly<Record<string, Float32Array>>[]): RewardItem[] {
  return pool.candidates.map((c, i) => {
    const item: RewardItem = { prompt: pool.prompt, response: c.text, ids: c.ids };
    const a = activations?.[i];
    if (a) item.activations = a;
    return item;
  });
}

/** Proxy and (optionally) gold rewards; invalid values become null and are listed on the pool. */
export async function rewardPool(pool: Pool, items: readonly RewardItem[], proxy: Reward, gold?: Reward): Promise<void> {
  const t = performance.now();
  const p = await scoreRewards(proxy, items, 'proxy');
  const g = gold ? await scoreRewards(gold, items, 'gold') : undefined;
  pool.candidates.forEach((c, i) => {
    c.proxy = p.values[i] ?? null;
    c.gold = g ? (g.values[i] ?? null) : null;
  });
  pool.invalid.push(...p.invalid, ...(g?.invalid ?? []));
  pool.timing.rewardMs += performance.now() - t;
}

/** The M×M utility matrix of the pool's candidates, computed once. */
export async function utilityPool(pool: Pool, items: readonly RewardItem[], utility: Utility): Promise<void> {
  const t = performance.now();
  pool.utility = await utility.matrix(items);
  pool.timing.utilityMs += performance.now() - t;
}

export interface AnnotateOptions {
  proxy: Reward;
  gold?: Reward;
  utility?: Utility;
  steering?: readonly Intervention[];
}

/** Every annotation stage on a drawn pool, capturing activations at most once. */
export async function annotatePool(model: HookedModel, pool: Pool, options: AnnotateOptions): Promise<void> {
  await scorePool(model, pool, options.steering);
  const sites = [...new Set([...(options.utility?.sites ?? []), ...options.proxy.sites, ...(options.gold?.sites ?? [])])];
  const activations = await capturePool(model, pool, sites, options.steering);
  const items = rewardItems(pool, activations);
  await rewardPool(pool, items, options.proxy, options.gold);
  if (options.utility) await utilityPool(pool, items, options.utility);
}

/** Whether a candidate can be selected and judged: every reward it needs is finite. */
export function isValid(c: Candidate, needGold: boolean): boolean {
  return c.proxy !== null && (!needGold || c.gold !== null);
}
