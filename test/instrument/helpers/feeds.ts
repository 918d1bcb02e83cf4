/**
 * Test-local driver for decoder graphs under onnxruntime-node: builds feeds
 * for the three cache layouts (bnsh, stacked, static) from a hooks manifest
 * and carries the cache from one run to the next. Deliberately independent
 * of src/runtime.
 */
import { dirname } from 'node:path';
import * as ort from 'onnxruntime-node';
import { readModel } from '../../../src/onnx/io.js';
import { halfToFloat } from '../../../src/onnx/fp16.js';
import { ModelCodec } from '../../../src/onnx/proto.js';
import type { FloatDtype, HooksManifest, NamedInput } from '../../../src/hooks/manifest.js';

export const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = { logSeverityLevel: 3 };

/**
 * A session in which the hook inputs can be fed. onnxruntime-node forwards
 * only `session.inputNames`, which leaves out inputs backed by initializers,
 * so the zero defaults are dropped and {@link hookFeeds} must be fed instead.
 */
export async function feedableSession(modelPath: string, m: HooksManifest): Promise<ort.InferenceSession> {
  const { model } = readModel(modelPath);
  const hooks = new Set(m.sites.flatMap((s) => [s.steer, s.ablate]));
  const graph = model.graph;
  if (!graph) throw new Error('no graph');
  graph.initializer = graph.initializer.filter((t) => !hooks.has(t.name ?? ''));
  return ort.InferenceSession.create(ModelCodec.encode(model), {
    ...SESSION_OPTIONS,
    extra: { session: { model_external_initializers_file_folder_path: dirname(modelPath) } },
  });
}

/** Zero steering and ablation feeds for every site, overridden by `feeds`. */
export function hookFeeds(m: HooksManifest, feeds: Record<string, ort.Tensor> = {}): Record<string, ort.Tensor> {
  const zero = floatTensor(m.dtype, new Float32Array(m.hiddenSize), [1, 1, m.hiddenSize]);
  const out: Record<string, ort.Tensor> = {};
  for (const s of m.sites) { out[s.steer] = zero; out[s.ablate] = zero; }
  for (const [k, v] of Object.entries(feeds)) {
    if (!(k in out)) throw new Error(`no hook input ${k}`);
    out[k] = v;
  }
  return out;
}

export type Outputs = Record<string, ort.Tensor>;

export interface StepResult {
  outputs: Outputs;
  /** Cache tensors to feed on the next step (input name → tensor). */
  cache: Record<string, ort.Tensor>;
  pastLength: number;
}

function floatToHalf(v: number): number {
  const f32 = new Float32Array([v]);
  const x = new Uint32Array(f32.buffer)[0] as number;
  const sign = (x >>> 16) & 0x8000;
  let exp = ((x >>> 23) & 0xff) - 127 + 15;
  let mant = x & 0x7fffff;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant = (mant | 0x800000) >> (1 - exp);
    return sign | ((mant + 0x1000) >> 13);
  }
  if (exp >= 31) return sign | 0x7c00;
  const rounded = mant + 0xfff + ((mant >> 13) & 1);
  if (rounded & 0x800000) { mant = 0; exp += 1; } else mant = rounded;
  if (exp >= 31) return sign | 0x7c00;
  return sign | (exp << 10) | (mant >> 13);
}

/** A float tensor of the given dtype from float32 values. */
export function floatTensor(dtype: FloatDtype, values: Float32Array | readonly number[], dims: readonly number[]): ort.Tensor {
  if (dtype === 'float32') return new ort.Tensor('float32', Float32Array.from(values), dims);
  const u16 = Uint16Array.from(Array.from(values, floatToHalf));
  return new ort.Tensor('float16', u16, dims);
}

/** The values of a float tensor (fp32 or fp16) as float32. */
export function toFloat32(t: ort.Tensor): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') {
    const raw = t.data as unknown as ArrayLike<number>;
    if (raw instanceof Uint16Array) return Float32Array.from(raw, halfToFloat);
    return Float32Array.from(raw);
  }
  throw new Error(`not a float tensor: ${t.type}`);
}

function intTensor(input: NamedInput | { dtype: 'int64' | 'int32' }, values: readonly number[], dims: readonly number[]): ort.Tensor {
  return input.dtype === 'int64'
    ? new ort.Tensor('int64', BigInt64Array.from(values.map((v) => BigInt(v))), dims)
    : new ort.Tensor('int32', Int32Array.from(values), dims);
}

function zeros(dtype: FloatDtype, dims: readonly number[]): ort.Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  return dtype === 'float32' ? new ort.Tensor('float32', new Float32Array(n), dims) : new ort.Tensor('float16', new Uint16Array(n), dims);
}

/** Empty (or, for static caches, zero-filled) cache tensors for batch 1. */
export function emptyCache(m: HooksManifest): Record<string, ort.Tensor> {
  const c = m.cache;
  const out: Record<string, ort.Tensor> = {};
  if (c.kind === 'stacked') {
    for (const name of c.pastStacked ?? []) out[name] = zeros(c.dtype, [2, 1, c.numKvHeads, 0, c.headDim]);
  } else if (c.kind === 'bnsh') {
    for (const l of c.past ?? []) {
      out[l.key] = zeros(c.dtype, [1, c.numKvHeads, 0, c.headDim]);
      out[l.value] = zeros(c.dtype, [1, c.numKvHeads, 0, c.headDim]);
    }
  } else {
    const dims = [1, c.maxLength ?? 0, c.numKvHeads * c.headDim];
    for (const l of c.past ?? []) { out[l.key] = zeros(c.dtype, dims); out[l.value] = zeros(c.dtype, dims); }
  }
  return out;
}

/** Maps a run's present outputs to the next run's past inputs. */
function nextCache(m: HooksManifest, outputs: Outputs): Record<string, ort.Tensor> {
  const c = m.cache;
  const out: Record<string, ort.Tensor> = {};
  const take = (name: string): ort.Tensor => {
    const t = outputs[name];
    if (!t) throw new Error(`missing cache output ${name}`);
    return t;
  };
  if (c.kind === 'stacked') {
    (c.pastStacked ?? []).forEach((p, i) => { out[p] = take(c.presentStacked?.[i] ?? ''); });
  } else {
    (c.past ?? []).forEach((p, i) => {
      const pr = c.present?.[i];
      out[p.key] = take(pr?.key ?? '');
      out[p.value] = take(pr?.value ?? '');
    });
  }
  return out;
}

/** Every cache output name of a manifest. */
export function presentNames(m: HooksManifest): string[] {
  const c = m.cache;
  if (c.kind === 'stacked') return [...(c.presentStacked ?? [])];
  return (c.present ?? []).flatMap((p) => [p.key, p.value]);
}

export function mainOutput(m: HooksManifest): string {
  return (m.outputs.logits ?? m.outputs.lastHidden) as string;
}

/**
 * One forward run of `ids` after `pastLength` cached tokens. `extra` adds
 * feeds (steering inputs); `fetch` limits the outputs.
 */
export async function step(
  session: ort.InferenceSession, m: HooksManifest, ids: readonly number[],
  cache: Record<string, ort.Tensor>, pastLength: number, extra: Record<string, ort.Tensor> = {},
): Promise<StepResult> {
  const n = ids.length;
  const total = pastLength + n;
  const feeds: Record<string, ort.Tensor> = { ...cache, ...extra };
  feeds[m.inputs.inputIds.name] = intTensor(m.inputs.inputIds, ids, [1, n]);
  if (m.inputs.attentionMask) feeds[m.inputs.attentionMask.name] = intTensor(m.inputs.attentionMask, new Array<number>(total).fill(1), [1, total]);
  if (m.inputs.positionIds) feeds[m.inputs.positionIds.name] = intTensor(m.inputs.positionIds, Array.from({ length: n }, (_, i) => pastLength + i), [1, n]);
  if (m.cache.kind === 'static') {
    if (m.cache.writeIndices) feeds[m.cache.writeIndices] = intTensor({ dtype: 'int64' }, [pastLength], [1]);
    if (m.cache.validLength) feeds[m.cache.validLength] = intTensor({ dtype: 'int64' }, [total], [1]);
  }
  const outputs: Outputs = await session.run(feeds);
  return { outputs, cache: nextCache(m, outputs), pastLength: total };
}

/** Runs a prompt, in chunks of at most `maxSequence` tokens. Returns every chunk's result. */
export async function prefill(
  session: ort.InferenceSession, m: HooksManifest, ids: readonly number[], extra: Record<string, ort.Tensor> = {},
): Promise<StepResult[]> {
  const chunk = m.inputs.maxSequence ?? ids.length;
  const results: StepResult[] = [];
  let cache = emptyCache(m);
  let past = 0;
  for (let i = 0; i < ids.length; i += chunk) {
    const r = await step(session, m, ids.slice(i, i + chunk), cache, past, extra);
    results.push(r);
    cache = r.cache;
    past = r.pastLength;
  }
  return results;
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] ?? 0) - (b[i] ?? 0));
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] ?? 0));
  return m;
}

/** max |a − b| / max |b|. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return d / Math.max(maxAbs(b), 1e-30);
}

/** Deterministic pseudo-random values in [-1, 1). */
export function randomVector(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = (s / 0x100000000) * 2 - 1;
  }
  return out;
}

export function argmaxLast(t: ort.Tensor): number {
  const v = toFloat32(t);
  const vocab = t.dims[t.dims.length - 1] as number;
  const off = v.length - vocab;
  let best = 0;
  for (let i = 1; i < vocab; i++) if ((v[off + i] ?? -Infinity) > (v[off + best] ?? -Infinity)) best = i;
  return best;
}
