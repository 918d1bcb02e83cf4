/**
 * Admission: a GenerationRequest checked against the model and the
 * scheduler's limits and turned into a Job (defaults filled in, per-row seeds
 * derived, the steering plan prepared once for prefill and decode). Bad input
 * throws InvalidArgumentError before anything is queued.
 */
import { InvalidArgumentError } from '../errors.js';
import { rowSeed } from '../math/rng.js';
import type { HooksManifest } from '../hooks/manifest.js';
import { CompiledPlan } from '../steering/compile.js';
import { RowPlan } from './feeds.js';
import { EventChannel, type GenerationRequest, type JobEvent } from './job.js';
import type { RowState, SamplingSpec } from './sequence.js';
import type { Job } from './state.js';

export interface AdmissionLimits {
  manifest: HooksManifest;
  vocab: number;
  context: number | undefined;
  maxBatch: number;
  maxQueue: number;
  eosIds: readonly number[];
}

function samplingOf(s: Partial<SamplingSpec>): SamplingSpec {
  const sampling: SamplingSpec = { temperature: s.temperature ?? 1, topP: s.topP ?? 1, topK: s.topK ?? 0, minP: s.minP ?? 0, repetitionPenalty: s.repetitionPenalty ?? 1 };
  if (!Number.isFinite(sampling.temperature) || sampling.temperature < 0) throw new InvalidArgumentError(`temperature must be ≥ 0, got ${sampling.temperature}`);
  if (!Number.isFinite(sampling.topP) || sampling.topP <= 0 || sampling.topP > 1) throw new InvalidArgumentError(`top_p must be in (0, 1], got ${sampling.topP}`);
  if (!Number.isInteger(sampling.topK) || sampling.topK < 0) throw new InvalidArgumentError(`top_k must be an integer ≥ 0, got ${sampling.topK}`);
  if (!Number.isFinite(sampling.minP) || sampling.minP < 0 || sampling.minP > 1) throw new InvalidArgumentError(`min_p must be in [0, 1], got ${sampling.minP}`);
  if (!Number.isFinite(sampling.repetitionPenalty) || sampling.repetitionPenalty <= 0) throw new InvalidArgumentError(`repetition_penalty must be > 0, got ${sampling.repetitionPenalty}`);
  return sampling;
}

function seedsOf(req: GenerationRequest, n: number): number[] {
  if (req.seeds) {
    if (req.seeds.length !== n) throw new InvalidArgumentError(`seeds has ${req.seeds.length} entries for n = ${n}`);
    return req.seeds.map((x) => x >>> 0);
  }
  const seed = req.seed ?? 0;
  if (!Number.isInteger(seed)) throw new InvalidArgumentError(`seed must be an integer, got ${String(req.seed)}`);
  return Array.from({ length: n }, (_, k) => rowSeed(seed, k));
}

/** Checks `req` and builds its job (id `id`); throws InvalidArgumentError on bad input. */
export function prepareJob(req: GenerationRequest, id: number, limits: AdmissionLimits): Job {
  const promptIds = [...req.promptIds];
  if (promptIds.length === 0) throw new InvalidArgumentError('the prompt is empty (no tokens)');
  for (const t of promptIds) {
    if (!Number.isInteger(t) || t < 0 || t >= limits.vocab) throw new InvalidArgumentError(`prompt token id ${t} is outside the vocabulary [0, ${limits.vocab})`);
  }
  if (limits.context !== undefined && promptIds.length >= limits.context) {
    throw new InvalidArgumentError(`the prompt has ${promptIds.length} tokens, the model's context is ${limits.context}`);
  }
  const n = req.n ?? (req.seeds ? req.seeds.length : 1);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`n must be an integer ≥ 1, got ${String(req.n)}`);
  if (n > limits.maxQueue && n > limits.maxBatch) throw new InvalidArgumentError(`n = ${n} exceeds what the server holds (queue ${limits.maxQueue} rows)`);
  if (!Number.isInteger(req.maxTokens) || req.maxTokens < 0) throw new InvalidArgumentError(`max tokens must be an integer ≥ 0, got ${String(req.maxTokens)}`);
  const sampling = samplingOf(req.sampling ?? {});
  const seeds = seedsOf(req, n);
  const stop = [...(req.stop ?? [])];
  for (const x of stop) if (typeof x !== 'string' || x.length === 0) throw new InvalidArgumentError('stop strings must be non-empty strings');
  const stopIds = new Set<number>(req.ignoreEos ? [] : limits.eosIds);
  for (const t of req.stopTokenIds ?? []) stopIds.add(t);
  for (const [name, v] of [['logprobs', req.logprobs], ['prompt logprobs', req.promptLogprobs]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 20)) throw new InvalidArgumentError(`${name} must be an integer in [0, 20], got ${String(v)}`);
  }
  const m = limits.manifest;
  const ivs = req.steering ?? [];
  const plan = ivs.length > 0 ? new RowPlan(ivs, m.sites, m.hiddenSize) : undefined;
  return {
    id, promptIds, n, seeds, maxTokens: req.maxTokens, sampling, stop, stopIds, plan,
    prefillPlan: new CompiledPlan(plan ? [...ivs] : undefined, m.sites, m.hiddenSize, m.dtype),
    logprobs: req.logprobs, promptLogprobs: req.promptLogprobs,
    channel: new EventChannel<JobEvent>(), resolve: () => undefined, reject: () => undefined,
    cancelled: false, settled: false, prefilled: 0, cache: undefined, lastLogits: undefined, prompt: undefined,
    spawned: 0, rows: new Array<RowState | undefined>(n).fill(undefined), finished: 0,
    pendingTokens: Array.from({ length: n }, () => []),
    t0: performance.now(), tAdmit: undefined, tFirst: undefined,
  };
}
