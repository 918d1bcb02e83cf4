/**
 * Capturing residual activations at hook sites for a batch of token
 * sequences, reduced by a position selector. Sequences run as one
 * right-padded batch without a cache; padding sits after each row's end, so
 * causal attention keeps every real position exact.
 */
import { InvalidArgumentError } from '../errors.js';
import { checkNumber, isRecord, quantity, shown } from '../validate/index.js';
import type { ModelRunner } from '../runtime/runner.js';
import type { Float32Tensor } from '../runtime/tensors.js';
import { CompiledPlan } from '../steering/compile.js';
import { validatePlan, type SteeringPlan } from '../steering/plan.js';

/**
 * - `last`: the last token; `index`: token k (negative counts from the end);
 * - `mean`: mean over [start, end) (default: every token);
 * - `all`: every token, [len, hidden].
 */
export type PositionSelector =
  | 'last'
  | 'all'
  | { mean: { start?: number; end?: number } }
  | 'mean'
  | { index: number };

export interface CaptureOptions {
  positions?: PositionSelector | readonly PositionSelector[];
  steering?: SteeringPlan;
  /**
   * Prompt length of each sequence, for steering positions (`prompt`,
   * `generated`): tokens from this index on count as generated. Default:
   * the whole sequence is prompt.
   */
  promptLengths?: readonly number[];
  /** Rows per forward pass (default 16). */
  batchSize?: number;
}

/** One entry per input sequence: site → activations ([hidden], or [len, hidden] for `all`). */
export type CaptureResult = Record<string, Float32Tensor>[];

function checkSelector(sel: unknown): void {
  if (sel === 'last' || sel === 'all' || sel === 'mean') return;
  if (isRecord(sel) && 'index' in sel) { checkNumber(sel.index, 'positions.index', { integer: true }); return; }
  if (isRecord(sel) && 'mean' in sel && isRecord(sel.mean)) {
    if (sel.mean.start !== undefined) checkNumber(sel.mean.start, 'positions.mean.start', { integer: true, min: 0 });
    if (sel.mean.end !== undefined) checkNumber(sel.mean.end, 'positions.mean.end', { integer: true, min: 0 });
    return;
  }
  throw new InvalidArgumentError(`positions must be last, all, mean, {mean: {start, end}} or {index: k}, got ${shown(sel)}`);
}

export async function captureActivations(
  runner: ModelRunner,
  sequences: readonly (readonly number[])[],
  sites: readonly string[],
  options: CaptureOptions = {},
): Promise<CaptureResult> {
  for (const s of sites) runner.site(s);
  if (sites.length === 0) throw new InvalidArgumentError('capture() needs at least one site');
  validatePlan(options.steering, runner.manifest.hiddenSize, (s) => runner.site(s));
  if (Array.isArray(options.steering) === false && options.steering) {
    throw new InvalidArgumentError('capture() takes a shared steering plan (a list of interventions), not per-row plans');
  }
  const plan = new CompiledPlan(options.steering, runner.manifest.sites, runner.manifest.hiddenSize, runner.manifest.dtype);
  const H = runner.manifest.hiddenSize;
  const selectors = Array.isArray(options.positions) ? (options.positions as readonly PositionSelector[]) : undefined;
  if (selectors && selectors.length !== sequences.length) throw new InvalidArgumentError(`got ${selectors.length} position selectors for ${sequences.length} sequences`);
  if (options.promptLengths && options.promptLengths.length !== sequences.length) throw new InvalidArgumentError(`got ${options.promptLengths.length} prompt lengths for ${sequences.length} sequences`);
  for (const sel of selectors ?? (options.positions === undefined ? [] : [options.positions as PositionSelector])) checkSelector(sel);
  const batchSize = quantity('batchSize', options.batchSize) ?? 16;
  const results: CaptureResult = [];
  for (let begin = 0; begin < sequences.length; begin += batchSize) {
    const chunk = sequences.slice(begin, begin + batchSize);
    const b = chunk.length;
    const L = Math.max(...chunk.map((c) => c.length));
    if (L === 0) throw new InvalidArgumentError('cannot capture an empty sequence');
    const ids = new Array<number>(b * L).fill(0);
    chunk.forEach((seq, r) => {
      for (let t = 0; t < L; t++) ids[r * L + t] = (t < seq.length ? seq[t] : seq[seq.length - 1]) ?? 0;
    });
    const out = await runner.forward({
      ids, batch: b, seqLen: L, cache: runner.emptyCache(b), captures: sites, logits: false,
      hookFeeds: plan.feeds({ starts: new Array<number>(b).fill(0), promptLengths: chunk.map((c, r) => options.promptLengths?.[begin + r] ?? c.length), seqLen: L }),
    });
    chunk.forEach((seq, r) => {
      const sel = selectors ? (selectors[begin + r] as PositionSelector) : ((options.positions as PositionSelector | undefined) ?? 'last');
      const entry: Record<string, Float32Tensor> = {};
      for (const site of sites) {
        const t = out.captures[site] as Float32Tensor;
        entry[site] = reduce(t.data, r, L, H, seq.length, sel);
      }
      results.push(entry);
    });
  }
  return results;
}

function reduce(data: Float32Array, row: number, L: number, H: number, len: number, sel: PositionSelector): Float32Tensor {
  const at = (t: number) => data.subarray((row * L + t) * H, (row * L + t + 1) * H);
  if (sel === 'last') return { data: Float32Array.from(at(len - 1)), dims: [H] };
  if (sel === 'all') return { data: data.slice(row * L * H, (row * L + len) * H), dims: [len, H] };
  if (sel === 'mean' || 'mean' in sel) {
    const span = sel === 'mean' ? {} : sel.mean;
    const start = span.start ?? 0;
    const end = span.end ?? len;
    if (start < 0 || end > len || end <= start) throw new InvalidArgumentError(`mean span [${start}, ${end}) is outside a sequence of ${len} tokens`);
    const out = new Float64Array(H);
    for (let t = start; t < end; t++) { const v = at(t); for (let h = 0; h < H; h++) out[h] = (out[h] as number) + (v[h] as number); }
    const res = new Float32Array(H);
    for (let h = 0; h < H; h++) res[h] = (out[h] as number) / (end - start);
    return { data: res, dims: [H] };
  }
  const k = sel.index < 0 ? len + sel.index : sel.index;
  if (k < 0 || k >= len) throw new InvalidArgumentError(`token index ${sel.index} is outside a sequence of ${len} tokens`);
  return { data: Float32Array.from(at(k)), dims: [H] };
}
