/** Small helpers around onnxruntime tensors and row-major typed arrays. */
import * as ort from 'onnxruntime-node';
import type { FloatDtype, IdDtype } from '../hooks/manifest.js';
import { fromHalfArray, toHalfArray } from '../onnx/fp16.js';

/** A row-major float32 array with its shape. */
export interface Float32Tensor { data: Float32Array; dims: number[] }

/** A boolean scalar as a [1] tensor (merged decoders' use_cache_branch). */
export function boolTensor(value: boolean): ort.Tensor {
  return new ort.Tensor('bool', [value], [1]);
}

export function idTensor(dtype: IdDtype, values: ArrayLike<number>, dims: readonly number[]): ort.Tensor {
  if (dtype === 'int32') return new ort.Tensor('int32', Int32Array.from(values), dims);
  const out = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = BigInt(values[i] ?? 0);
  return new ort.Tensor('int64', out, dims);
}

export function floatTensorOf(dtype: FloatDtype, data: Float32Array, dims: readonly number[]): ort.Tensor {
  return dtype === 'float16' ? new ort.Tensor('float16', toHalfArray(data), dims) : new ort.Tensor('float32', data, dims);
}

export function emptyFloat(dtype: FloatDtype, dims: readonly number[]): ort.Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  return dtype === 'float16' ? new ort.Tensor('float16', new Uint16Array(n), dims) : new ort.Tensor('float32', new Float32Array(n), dims);
}

/** Reads a float tensor (fp32 or fp16) as float32 (fp32 data is not copied). */
export function toFloat32(t: ort.Tensor): Float32Tensor {
  const dims = [...t.dims];
  if (t.type === 'float32') return { data: t.data as Float32Array, dims };
  if (t.type === 'float16') return { data: fromHalfArray(t.data as Uint16Array), dims };
  throw new TypeError(`expected a float tensor, got ${t.type}`);
}

/**
 * Copies rows of a tensor whose dimension `axis` is the batch, selecting
 * `rows` (indices may repeat, which expands a batch).
 */
export function selectBatchRows(t: ort.Tensor, rows: readonly number[], axis: number): ort.Tensor {
  const dims = [...t.dims];
  const batch = dims[axis] ?? 1;
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const src = t.data as Float32Array | Uint16Array;
  const Ctor = src.constructor as Float32ArrayConstructor | Uint16ArrayConstructor;
  const out = new Ctor(outer * rows.length * inner);
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < rows.length; r++) {
      const from = (o * batch + (rows[r] ?? 0)) * inner;
      out.set(src.subarray(from, from + inner), (o * rows.length + r) * inner);
    }
  }
  dims[axis] = rows.length;
  return new ort.Tensor(t.type as 'float32', out as Float32Array, dims);
}
