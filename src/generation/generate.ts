/**
 * The decoding loop: prefill, then one token per row per step with the KV
 * cache; logits processors → sampler → stopping criteria → streamer. Rows
 * finish independently and finished rows leave the batch.
 */
import type { ModelRunner } from '../runtime/runner.js';
import type { Float32Tensor } from '../runtime/tensors.js';
import { selectCacheRows, type KvCache } from '../runtime/cache.js';
import { InvalidArgumentError, RuntimeFailureError } from '../errors.js';
import { CompiledPlan } from '../steering/compile.js';
import { planRowCount, validatePlan } from '../steering/plan.js';
import { resolveOptions, type GenerateOptions } from './options.js';
import { repetitionPenalty, temperature, type LogitsProcessor } from './processors.js';
import { Rng, rowSeed } from '../math/rng.js';
import { Sampler, logSoftmaxAt } from './sampler.js';
import { eosToken, firstFinish, maxNewTokens, stopStrings, truncateAtStop, type FinishReason, type StoppingCriterion } from './stopping.js';
import { IncrementalDecoder } from './streamer.js';

/** What the decoding loop needs from a tokenizer. */
export interface Detokenizer {
  decode(ids: readonly number[]): string;
  readonly eosIds: readonly number[];
}

export interface GeneratedRow {
  index: number;
  seed: number;
  /** Generated token ids (prompt excluded). */
  ids: number[];
  text: string;
  /** log π(token | prefix) under the model (raw logits, before processors), per generated token. */
  logprobs: number[];
  finishReason: FinishReason;
}

export interface GenerationTiming {
  prefillMs: number;
  decodeMs: number;
  totalMs: number;
  generatedTokens: number;
  forwardPasses: number;
  prefill: 'expand' | 'batch';
}

export interface GenerationResult {
  promptIds: number[];
  rows: GeneratedRow[];
  timing: GenerationTiming;
}

export type GenerationEvent =
  | { type: 'token'; row: number; id: number; text: string }
  /** Text held back for an incomplete character, released at the end. */
  | { type: 'text'; row: number; text: string }
  | { type: 'done'; result: GenerationResult };

interface RowState {
  index: number;
  rng: Rng;
  processors: LogitsProcessor[];
  sampler: Sampler;
  tokens: number[];
  generated: number[];
  logprobs: number[];
  decoder: IncrementalDecoder;
  finish?: FinishReason;
}

export async function* generateStream(
  runner: ModelRunner,
  tokenizer: Detokenizer,
  promptIds: readonly number[],
  options: GenerateOptions = {},
): AsyncGenerator<GenerationEvent, GenerationResult> {
  const t0 = performance.now();
  const o = resolveOptions(options, rowSeed);
  const manifest = runner.manifest;
  if (promptIds.length === 0) throw new InvalidArgumentError('the prompt is empty (no tokens)');
  const context = manifest.maxPositions ?? manifest.cache.maxLength;
  if (context !== undefined && promptIds.length >= context) {
    throw new InvalidArgumentError(`the prompt has ${promptIds.length} tokens, the model's context is ${context}`);
  }
  const planRows = planRowCount(options.steering);
  if (planRows !== undefined && planRows !== o.n) throw new InvalidArgumentError(`the steering plan has ${planRows} rows for n = ${o.n}`);
  validatePlan(options.steering, manifest.hiddenSize, (s) => runner.site(s));
  const plan = new CompiledPlan(options.steering, manifest.sites, manifest.hiddenSize, manifest.dtype);

  const vocab = manifest.vocabSize ?? 0;
  const rows: RowState[] = o.seeds.map((seed, index) => {
    const processors: LogitsProcessor[] = [];
    if (o.repetitionPenalty !== 1) processors.push(repetitionPenalty(o.repetitionPenalty));
    if (o.temperature > 0 && o.temperature !== 1) processors.push(temperature(o.temperature));
    return {
      index, rng: new Rng(seed), processors,
      sampler: new Sampler(vocab, { temperature: o.temperature, topK: o.topK, topP: o.topP, minP: o.minP }),
      tokens: [...promptIds], generated: [], logprobs: [],
      decoder: new IncrementalDecoder((ids) => tokenizer.decode(ids)),
    };
  });
  const criteria: StoppingCriterion[] = [maxNewTokens(o.maxNewTokens)];
  if (o.stopOnEos && tokenizer.eosIds.length > 0) criteria.push(eosToken(tokenizer.eosIds));
  if (o.stop.length > 0) criteria.push(stopStrings(o.stop));

  // Prefill: once and copy the cache to every row, unless rows steer the prompt differently.
  const P = promptIds.length;
  const strategy: 'expand' | 'batch' = o.prefill === 'batch' || (o.prefill === 'auto' && planRows !== undefined && !plan.empty) ? 'batch' : 'expand';
  const prefillRows = strategy === 'batch' ? o.n : 1;
  let forwardPasses = 0;
  const maxSeq = manifest.inputs.maxSequence ?? P;
  let cache: KvCache = runner.emptyCache(prefillRows);
  let last: Float32Tensor | undefined;
  for (let start = 0; start < P; start += maxSeq) {
    const len = Math.min(maxSeq, P - start);
    const ids: number[] = [];
    for (let r = 0; r < prefillRows; r++) for (let s = 0; s < len; s++) ids.push(promptIds[start + s] as number);
    const step = await runner.forward({
      ids, batch: prefillRows, seqLen: len, cache,
      hookFeeds: plan.feeds({ starts: new Array<number>(prefillRows).fill(start), promptLengths: new Array<number>(prefillRows).fill(P), seqLen: len }),
    });
    forwardPasses++;
    cache = step.cache;
    last = step.logits;
    if (!last) throw new InvalidArgumentError('this model has no logits output (it ends in a hidden state); it cannot generate');
  }
  const prefillOut = last as Float32Tensor;
  const [, lastLen = 1, V = 0] = prefillOut.dims;
  let rowLogits: Float32Array[] = rows.map((_, r) => {
    const b = strategy === 'batch' ? r : 0;
    return prefillOut.data.subarray((b * lastLen + lastLen - 1) * V, (b * lastLen + lastLen) * V);
  });
  if (strategy === 'expand' && o.n > 1) cache = selectCacheRows(manifest.cache, cache, new Array<number>(o.n).fill(0));
  const tPrefill = performance.now();

  let active = rows.slice();
  const scratch = new Float32Array(V);
  while (active.length > 0) {
    // Select the next token of every active row.
    for (let a = 0; a < active.length; a++) {
      const row = active[a] as RowState;
      const raw = rowLogits[a] as Float32Array;
      checkFiniteLogits(raw, row.generated.length);
      const id = pickToken(row, raw, scratch);
      // The sampler already normalised the raw logits when nothing processed them.
      const logZ = row.processors.length === 0 ? row.sampler.lastLogPartition : Number.NaN;
      row.logprobs.push(Number.isNaN(logZ) ? logSoftmaxAt(raw, id) : (raw[id] as number) - logZ);
      row.tokens.push(id);
      row.generated.push(id);
      const delta = row.decoder.push(id);
      if (delta) yield { type: 'token', row: row.index, id, text: delta };
      row.finish = firstFinish(criteria, { ids: row.generated, text: row.decoder.text });
      if (!row.finish && context !== undefined && row.tokens.length >= context) row.finish = 'length';
    }
    const keep = active.map((r, i) => (r.finish ? -1 : i)).filter((i) => i >= 0);
    if (keep.length === 0) break;
    if (keep.length < active.length) {
      cache = selectCacheRows(manifest.cache, cache, keep);
      active = keep.map((i) => active[i] as RowState);
    }
    const batch = active.length;
    const step = await runner.forward({
      ids: active.map((r) => r.tokens[r.tokens.length - 1] as number),
      batch, seqLen: 1, cache,
      hookFeeds: plan.feeds({
        starts: active.map((r) => r.tokens.length - 1),
        promptLengths: new Array<number>(batch).fill(P),
        planRows: active.map((r) => r.index),
        seqLen: 1,
      }),
    });
    forwardPasses++;
    cache = step.cache;
    const logits = (step.logits as Float32Tensor).data;
    rowLogits = active.map((_, a) => logits.subarray(a * V, (a + 1) * V));
  }
  const tEnd = performance.now();
  for (const r of rows) {
    const tail = r.decoder.flush();
    if (tail) yield { type: 'text', row: r.index, text: tail };
  }

  const result: GenerationResult = {
    promptIds: [...promptIds],
    rows: rows.map((r) => {
      const full = tokenizer.decode(r.generated);
      return {
        index: r.index, seed: o.seeds[r.index] as number, ids: r.generated, logprobs: r.logprobs,
        text: r.finish === 'stop' ? truncateAtStop(full, o.stop) : full,
        finishReason: r.finish ?? 'length',
      };
    }),
    timing: {
      prefillMs: tPrefill - t0, decodeMs: tEnd - tPrefill, totalMs: tEnd - t0,
      generatedTokens: rows.reduce((n, r) => n + r.generated.length, 0), forwardPasses, prefill: strategy,
    },
  };
  yield { type: 'done', result };
  return result;
}

/** NaN or +∞ logits mean the forward pass broke (e.g. a strength that overflows the residual): stop, do not sample token 0. */
function checkFiniteLogits(logits: Float32Array, step: number): void {
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i] as number;
    if (v !== v || v === Infinity) {
      throw new RuntimeFailureError(`the model produced non-finite logits at generation step ${step} (${v}); steering strengths this large overflow the residual stream`);
    }
  }
}

function pickToken(row: RowState, raw: Float32Array, scratch: Float32Array): number {
  if (row.processors.length === 0) return row.sampler.sample(raw, row.rng);
  scratch.set(raw);
  const ctx = { tokens: row.tokens, generated: row.generated.length };
  for (const p of row.processors) p(scratch, ctx);
  return row.sampler.sample(scratch, row.rng);
}

/** Runs generation to the end and returns the result. */
export async function generate(runner: ModelRunner, tokenizer: Detokenizer, promptIds: readonly number[], options: GenerateOptions = {}): Promise<GenerationResult> {
  const it = generateStream(runner, tokenizer, promptIds, options);
  for (;;) {
    const { value, done } = await it.next();
    if (done) return value;
    if (value.type === 'done') return value.result;
  }
}
