/**
 * What the hook-feed packers (packing.ts, lowrank-packing.ts) share: the
 * model's opset, dropping the per-site inputs a packed input replaces, zero
 * feeds, reused buffers, and the batch/position agreement of a step's feeds.
 */
import * as ort from 'onnxruntime-node';
import { InvalidArgumentError } from '../errors.js';
import type { FloatDtype } from '../hooks/manifest.js';
import { toNumber, type GraphProto, type ModelProto } from '../onnx/proto.js';

/** The default-domain opset the model imports (0 when none). */
export function defaultOpset(model: ModelProto): number {
  const e = model.opsetImport.find((o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx');
  return e ? toNumber(e.version) : 0;
}

/** Removes the named graph inputs (and initializers of the same names). */
export function dropInputs(graph: GraphProto, names: ReadonlySet<string>): void {
  graph.input = graph.input.filter((v) => !names.has(v.name ?? ''));
  graph.initializer = graph.initializer.filter((t) => !names.has(t.name ?? ''));
}

/** A zero feed of `n` values in the model's float type. */
export function zeroFeed(dtype: FloatDtype, n: number, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor(dtype === 'float16' ? 'float16' : 'float32', dtype === 'float16' ? new Uint16Array(n) : new Float32Array(n), dims);
}

/**
 * A zeroed view of `size` elements from the buffer kept for `kind`, grown
 * only when a step needs more: packed feeds reuse one buffer per kind.
 */
export function zeroedView<K>(buffers: Map<K, Float32Array | Uint16Array>, kind: K, size: number, dtype: FloatDtype): Float32Array | Uint16Array {
  let buf = buffers.get(kind);
  if (!buf || buf.length < size) {
    buf = dtype === 'float16' ? new Uint16Array(size) : new Float32Array(size);
    buffers.set(kind, buf);
  }
  const view = buf.subarray(0, size);
  view.fill(0);
  return view;
}

/**
 * The batch and position counts of a step whose (slot, feed) pairs are each
 * [b|1, s|1, …]: every feed with b ≠ 1 (s ≠ 1) must agree; `what` names them
 * in the error.
 */
export function feedExtent(feeds: readonly (readonly [number, ort.Tensor])[], what: string): { B: number; S: number } {
  let B = 1;
  let S = 1;
  for (const [, t] of feeds) {
    const [b = 1, s = 1] = t.dims;
    if (b !== 1) { if (B !== 1 && B !== b) throw new InvalidArgumentError(`${what} disagree on the batch size`); B = b; }
    if (s !== 1) { if (S !== 1 && S !== s) throw new InvalidArgumentError(`${what} disagree on the number of positions`); S = s; }
  }
  return { B, S };
}

/**
 * Copies a feed [b|1, s|1, blocks × len] into a packed view
 * [B, S, blocks × stride], at column `offset` of each block, repeating it
 * over the batch (b = 1) and positions (s = 1).
 */
export function scatterFeed(view: Float32Array | Uint16Array, t: ort.Tensor, B: number, S: number, blocks: number, len: number, stride: number, offset: number): void {
  const [b = 1, s = 1] = t.dims;
  const src = t.data as Float32Array | Uint16Array;
  for (let bi = 0; bi < B; bi++) {
    for (let si = 0; si < S; si++) {
      const from = ((b === 1 ? 0 : bi) * s + (s === 1 ? 0 : si)) * blocks * len;
      const to = (bi * S + si) * blocks * stride + offset;
      for (let h = 0; h < blocks; h++) view.set(src.subarray(from + h * len, from + (h + 1) * len), to + h * stride);
    }
  }
}
