/**
 * Best-of-N for one prompt: N candidates from one batched generate() call
 * (optionally steered), their rewards, the N×N utility matrix, the selector's
 * objective per candidate and the chosen one. Candidates whose reward is not
 * a finite number are left out of the selection and listed in `invalid`.
 */
import { asBackend } from '../backends/local.js';
import type { Backend, BackendSteering } from '../backends/types.js';
import { InvalidArgumentError } from '../errors.js';
import type { Reward } from '../rewards/types.js';
import type { HookedModel } from '../model/hooked-model.js';
import { selectorSpec } from '../selection/registry.js';
import type { SelectorName } from '../selection/selectors.js';
import type { Utility } from '../utilities/types.js';
import { annotatePool, drawPool, isSteered, type SamplingOptions } from './pool.js';
import type { InvalidReward } from './scoring.js';
import { checkSelectOptions, selectFromPool } from './pool-selection.js';

export interface BestOfNOptions {
  n: number;
  method: SelectorName;
  beta?: number;
  reward: Reward;
  /** Needed by mbr and mbr-bon; computed for the others too when given. */
  utility?: Utility;
  /** A Steering (any backend) or a raw plan (local backend only). */
  steering?: BackendSteering;
  sampling?: SamplingOptions;
  /** Scores log π_ref when the policy (the first argument) is another model or server. */
  referenceBackend?: HookedModel | Backend;
  /** Called at each stage (sampling, scoring, selecting). */
  onProgress?: (message: string) => void;
}

export interface BestOfNCandidate {
  index: number;
  seed: number;
  text: string;
  ids: number[];
  finishReason: string;
  reward: number | null;
  /** log-prob under the model that sampled it (steered, when steering). */
  logprob: number;
  /** log π_ref(y | x) under the unsteered model. */
  refLogprob: number;
  /** ū_i = mean_j u(y_i, y_j) over the valid candidates, when a utility was computed. */
  meanUtility: number | null;
  /** The selector's objective; null for candidates left out (invalid reward). */
  objective: number | null;
}

export interface BestOfNResult {
  prompt: string;
  method: SelectorName;
  beta: number | null;
  reward: string;
  utility: string | null;
  candidates: BestOfNCandidate[];
  /** N×N rows of u(y_i, y_j), or null when no utility was computed. */
  utilityMatrix: number[][] | null;
  chosen: number;
  invalid: InvalidReward[];
  timing: { generateMs: number; generatedTokens: number; forwardPasses: number; rewardMs: number; utilityMs: number; captureMs: number };
}

/** What a Best-of-N run needs from its backends (checked before the first request). */
export async function prepareBestOfN(policy: Backend, reference: Backend, o: BestOfNOptions): Promise<void> {
  const steered = isSteered(o.steering);
  const needsRef = selectorSpec(o.method).needs.logprobs;
  const sites = [...new Set([...(o.utility?.sites ?? []), ...o.reward.sites])];
  const why = needsRef ? `${o.method} (log π_ref)` : 'the log π_ref and log π_steered that Best-of-N reports';
  await policy.prepare({
    ...(steered ? { steering: [o.steering as BackendSteering], scoring: why } : {}),
    ...(sites.length > 0 ? { activations: o.utility?.sites.length ? `the utility ${o.utility.spec}` : `the reward ${o.reward.spec}` } : {}),
  });
  if (reference !== policy) await reference.prepare({ scoring: why });
}

export async function runBestOfN(model: HookedModel | Backend, prompt: string, o: BestOfNOptions): Promise<BestOfNResult> {
  checkSelectOptions({ method: o.method, n: o.n, ...(o.beta !== undefined ? { beta: o.beta } : {}) });
  if (selectorSpec(o.method).needs.utility && !o.utility) throw new InvalidArgumentError(`method ${o.method} needs a utility`);
  const policy = asBackend(model);
  const reference = o.referenceBackend ? asBackend(o.referenceBackend) : policy;
  await prepareBestOfN(policy, reference, o);
  const steering = isSteered(o.steering) ? o.steering : undefined;
  const progress = o.onProgress ?? (() => undefined);
  progress(`sampling ${o.n} candidates`);
  const pool = await drawPool(policy, prompt, { n: o.n, sampling: o.sampling ?? {}, refFromDraw: reference === policy, ...(steering ? { steering } : {}) });
  progress(`scoring ${pool.candidates.length} candidates (${o.reward.spec}${o.utility ? `, utility ${o.utility.spec}` : ''})`);
  // A steered pool is scored under π_ref too (kl-bon needs log π_ref; the output reports it).
  await annotatePool(policy, pool, { proxy: o.reward, reference, ...(o.utility ? { utility: o.utility } : {}), ...(steering ? { steering } : {}) });
  const sel = selectFromPool(pool, { method: o.method, n: o.n, ...(o.beta !== undefined ? { beta: o.beta } : {}) });
  if (sel.chosen === null) {
    throw new InvalidArgumentError(`no candidate has a valid reward (${pool.invalid.length} invalid: ${pool.invalid[0]?.message ?? ''})`);
  }
  const m = pool.candidates.length;
  const position = new Map(sel.subset.map((i, k) => [i, k]));
  const utilityMatrix: number[][] | null = pool.utility.length === m * m
    ? Array.from({ length: m }, (_, i) => Array.from(pool.utility.subarray(i * m, (i + 1) * m)))
    : null;
  const meanU = (i: number): number | null => {
    if (!utilityMatrix) return null;
    const row = utilityMatrix[i] as number[];
    return sel.subset.reduce((s, j) => s + (row[j] as number), 0) / sel.subset.length;
  };
  return {
    prompt,
    method: o.method,
    beta: sel.beta,
    reward: o.reward.spec,
    utility: o.utility?.spec ?? null,
    candidates: pool.candidates.map((c) => {
      const k = position.get(c.index);
      return {
        index: c.index, seed: c.seed, text: c.text, ids: c.ids, finishReason: c.finishReason,
        reward: c.proxy, logprob: c.logprob, refLogprob: c.refLogprob,
        meanUtility: k === undefined ? null : meanU(c.index),
        objective: k === undefined ? null : (sel.objective[k] ?? null),
      };
    }),
    utilityMatrix,
    chosen: sel.chosen,
    invalid: pool.invalid,
    timing: {
      generateMs: pool.timing.generateMs, generatedTokens: pool.timing.generatedTokens, forwardPasses: pool.timing.forwardPasses,
      rewardMs: pool.timing.rewardMs, utilityMs: pool.timing.utilityMs, captureMs: pool.timing.captureMs,
    },
  };
}
