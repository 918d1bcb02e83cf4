/**
 * The reward interface: a batched score per (prompt, response). Every reward
 * is made by a small factory and wrapped by {@link defineReward}, which checks
 * that it returns one finite number per item and names the offending
 * candidate otherwise, so a NaN is never averaged into a result.
 */
import { RewardValueError } from '../errors.js';
import type { HookedModel } from '../model/hooked-model.js';

export interface RewardItem {
  prompt: string;
  response: string;
  /** The response's token ids under the policy, when known (generated ids). */
  ids?: readonly number[];
  /**
   * Policy activations pooled over the response tokens, by hook site
   * (see captureResponseActivations). Rewards that read activations use these
   * and do not run the model again.
   */
  activations?: Readonly<Record<string, Float32Array>>;
}

/** Scores a batch: one finite number per item, in order. */
export type RewardFn = (items: readonly RewardItem[]) => Promise<Float64Array>;

export interface Reward {
  /** The spec it was parsed from, e.g. `keyword:happy`. */
  readonly spec: string;
  /** The kind: vader, afinn, keyword, probe, verifier, module. */
  readonly kind: string;
  /** Hook sites whose pooled activations the reward reads from `item.activations`. */
  readonly sites: readonly string[];
  readonly score: RewardFn;
}

/** A steering/probe direction: the minimal view of a vector file a probe needs. */
export interface ProbeDirection {
  site: string;
  direction: Float32Array;
  /** Added to the projection (default 0). */
  bias?: number;
}

/** Loads a probe direction from a file path (hook for the vector-file loader). */
export type VectorLoader = (path: string) => ProbeDirection | Promise<ProbeDirection>;

export interface RewardContext {
  /** Used by `probe:` only for items that carry no activations (one batched capture). */
  model?: HookedModel;
  /** Base directory for relative module and vector paths (default: process.cwd()). */
  cwd?: string;
  /** Loader for `probe:<file>` (default: a JSON file `{site, direction: number[], bias?}`). */
  loadVector?: VectorLoader;
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 60 ? `${flat.slice(0, 57)}…` : flat;
}

/** Throws RewardValueError unless `values` holds one finite number per item. */
export function checkRewardValues(spec: string, items: readonly RewardItem[], values: ArrayLike<number>): Float64Array {
  if (values.length !== items.length) {
    throw new RewardValueError(spec, -1, NaN, `reward "${spec}" returned ${values.length} scores for ${items.length} candidates`);
  }
  const out = new Float64Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const v = values[i] as number;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      const item = items[i] as RewardItem;
      throw new RewardValueError(spec, i, v, `reward "${spec}" returned ${String(v)} for candidate ${i} ("${snippet(item.response)}")`);
    }
    out[i] = v;
  }
  return out;
}

/** Builds a Reward whose scores are validated (see checkRewardValues). */
export function defineReward(spec: string, kind: string, sites: readonly string[], fn: (items: readonly RewardItem[]) => Promise<ArrayLike<number>> | ArrayLike<number>): Reward {
  return {
    spec,
    kind,
    sites,
    score: async (items) => (items.length === 0 ? new Float64Array(0) : checkRewardValues(spec, items, await fn(items))),
  };
}
