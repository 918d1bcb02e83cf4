/** Generation options and their validation. */
import { InvalidArgumentError } from '../errors.js';
import { checkNumberList, checkObject, MAX_BATCH, quantity, shown } from '../validate/index.js';
import type { SteeringPlan } from '../steering/plan.js';

export interface GenerateOptions {
  /** Default 64. */
  maxNewTokens?: number;
  /** 0 = greedy. Default 1. */
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  /** Base seed; row k uses rowSeed(seed, k). Default 0. */
  seed?: number;
  /** Explicit per-row seeds (overrides `seed`). */
  seeds?: readonly number[];
  stop?: readonly string[];
  /** Number of candidates decoded as one batch. Default 1. */
  n?: number;
  steering?: SteeringPlan;
  /** How n rows get their prompt cache: prefill once and copy, or prefill n rows. */
  prefill?: 'auto' | 'expand' | 'batch';
  /** Stop on EOS (default true). */
  stopOnEos?: boolean;
}

export interface ResolvedOptions {
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
  seeds: number[];
  stop: string[];
  n: number;
  prefill: 'auto' | 'expand' | 'batch';
  stopOnEos: boolean;
}

function check(cond: boolean, message: string): void {
  if (!cond) throw new InvalidArgumentError(message);
}

export function resolveOptions(options: GenerateOptions, rowSeed: (seed: number, k: number) => number): ResolvedOptions {
  const o = (options === undefined ? {} : checkObject(options, 'options')) as GenerateOptions;
  if (o.seeds !== undefined) checkNumberList(o.seeds, 'seeds', { integer: true }, { maxItems: MAX_BATCH });
  const n = quantity('n', o.n) ?? (o.seeds ? o.seeds.length : 1);
  const maxNewTokens = quantity('maxNewTokens', o.maxNewTokens) ?? 64;
  const temperature = quantity('temperature', o.temperature) ?? 1;
  const topK = quantity('topK', o.topK) ?? 0;
  const topP = quantity('topP', o.topP) ?? 1;
  const minP = quantity('minP', o.minP) ?? 0;
  const repetitionPenalty = quantity('repetitionPenalty', o.repetitionPenalty) ?? 1;
  if (o.stop !== undefined && !Array.isArray(o.stop)) throw new InvalidArgumentError(`stop must be an array of strings, got ${shown(o.stop)}`);
  const stop: string[] = [...((o.stop ?? []) as readonly string[])];
  for (const s of stop) check(typeof s === 'string' && s.length > 0, 'stop strings must be non-empty strings');
  const prefill = o.prefill ?? 'auto';
  check(prefill === 'auto' || prefill === 'expand' || prefill === 'batch', `unknown prefill strategy "${String(prefill)}"`);
  let seeds: number[];
  if (o.seeds) {
    check(o.seeds.length === n, `seeds has ${o.seeds.length} entries for n = ${n}`);
    seeds = o.seeds.map((s) => s >>> 0);
  } else {
    const seed = quantity('seed', o.seed) ?? 0;
    seeds = Array.from({ length: n }, (_, k) => rowSeed(seed, k));
  }
  return { maxNewTokens, temperature, topK, topP, minP, repetitionPenalty, seeds, stop, n, prefill, stopOnEos: o.stopOnEos ?? true };
}
