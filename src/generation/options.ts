/** Generation options and their validation. */
import { InvalidArgumentError } from '../errors.js';
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

export function resolveOptions(o: GenerateOptions, rowSeed: (seed: number, k: number) => number): ResolvedOptions {
  const n = o.n ?? (o.seeds ? o.seeds.length : 1);
  check(Number.isInteger(n) && n >= 1, `n must be an integer ≥ 1, got ${String(o.n)}`);
  const maxNewTokens = o.maxNewTokens ?? 64;
  check(Number.isInteger(maxNewTokens) && maxNewTokens > 0, `maxNewTokens must be a positive integer, got ${String(o.maxNewTokens)}`);
  const temperature = o.temperature ?? 1;
  check(Number.isFinite(temperature) && temperature >= 0, `temperature must be ≥ 0, got ${String(o.temperature)}`);
  const topK = o.topK ?? 0;
  check(Number.isInteger(topK) && topK >= 0, `topK must be an integer ≥ 0, got ${String(o.topK)}`);
  const topP = o.topP ?? 1;
  check(Number.isFinite(topP) && topP > 0 && topP <= 1, `topP must be in (0, 1], got ${String(o.topP)}`);
  const minP = o.minP ?? 0;
  check(Number.isFinite(minP) && minP >= 0 && minP <= 1, `minP must be in [0, 1], got ${String(o.minP)}`);
  const repetitionPenalty = o.repetitionPenalty ?? 1;
  check(Number.isFinite(repetitionPenalty) && repetitionPenalty > 0, `repetitionPenalty must be > 0, got ${String(o.repetitionPenalty)}`);
  const stop = [...(o.stop ?? [])];
  for (const s of stop) check(typeof s === 'string' && s.length > 0, 'stop strings must be non-empty strings');
  const prefill = o.prefill ?? 'auto';
  check(prefill === 'auto' || prefill === 'expand' || prefill === 'batch', `unknown prefill strategy "${String(prefill)}"`);
  let seeds: number[];
  if (o.seeds) {
    check(o.seeds.length === n, `seeds has ${o.seeds.length} entries for n = ${n}`);
    seeds = o.seeds.map((s) => s >>> 0);
  } else {
    const seed = o.seed ?? 0;
    check(Number.isInteger(seed), `seed must be an integer, got ${String(o.seed)}`);
    seeds = Array.from({ length: n }, (_, k) => rowSeed(seed, k));
  }
  return { maxNewTokens, temperature, topK, topP, minP, repetitionPenalty, seeds, stop, n, prefill, stopOnEos: o.stopOnEos ?? true };
}
