/**
 * ggml's Q8_0 blocks, bit for bit as `quantize_row_q8_0_ref` (ggml-quants.c)
 * writes them: 32 values per block, stored as one fp16 scale d followed by
 * 32 int8 codes (34 bytes), with d = max|x| / 127, codes round(x · (1/d))
 * rounded half away from zero, every step in float32 arithmetic, and d
 * rounded to fp16 to nearest even. Dequantized, x ≈ d · code.
 */
import { InvalidArgumentError } from '../errors.js';
import { floatToHalf, halfToFloat } from '../onnx/fp16.js';

export const Q8_0_BLOCK = 32;
export const Q8_0_BLOCK_BYTES = 34;

const f = Math.fround;

/** Bytes needed for `n` values (n a multiple of 32). */
export function q8_0Bytes(n: number): number {
  if (n % Q8_0_BLOCK !== 0) throw new InvalidArgumentError(`Q8_0 needs a multiple of ${Q8_0_BLOCK} values, got ${n}`);
  return (n / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES;
}

/** Quantizes `x` (row-major, rows a multiple of 32 long) into `out` (or a new buffer). */
export function quantizeQ8_0(x: Float32Array, out: Uint8Array = new Uint8Array(q8_0Bytes(x.length))): Uint8Array {
  const blocks = q8_0Bytes(x.length) / Q8_0_BLOCK_BYTES;
  if (out.byteLength < blocks * Q8_0_BLOCK_BYTES) throw new InvalidArgumentError(`Q8_0 output holds ${out.byteLength} bytes, needs ${blocks * Q8_0_BLOCK_BYTES}`);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let b = 0; b < blocks; b++) {
    const base = b * Q8_0_BLOCK;
    let amax = 0;
    for (let j = 0; j < Q8_0_BLOCK; j++) {
      const v = Math.abs(x[base + j] as number);
      if (v > amax) amax = v;
    }
    const d = f(amax / 127);
    const id = d !== 0 ? f(1 / d) : 0;
    const at = b * Q8_0_BLOCK_BYTES;
    view.setUint16(at, floatToHalf(d), true);
    for (let j = 0; j < Q8_0_BLOCK; j++) {
      const x0 = f((x[base + j] as number) * id);
      // roundf: half away from zero
      const q = x0 < 0 ? -Math.floor(-x0 + 0.5) : Math.floor(x0 + 0.5);
      view.setInt8(at + 2 + j, q);
    }
  }
  return out;
}

/** The values a Q8_0 buffer stands for (d · code, as ggml's dequantize_row_q8_0). */
export function dequantizeQ8_0(bytes: Uint8Array, out?: Float32Array): Float32Array {
  if (bytes.byteLength % Q8_0_BLOCK_BYTES !== 0) throw new InvalidArgumentError(`Q8_0 data must be a multiple of ${Q8_0_BLOCK_BYTES} bytes, got ${bytes.byteLength}`);
  const blocks = bytes.byteLength / Q8_0_BLOCK_BYTES;
  const y = out ?? new Float32Array(blocks * Q8_0_BLOCK);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < blocks; b++) {
    const at = b * Q8_0_BLOCK_BYTES;
    const d = halfToFloat(view.getUint16(at, true));
    for (let j = 0; j < Q8_0_BLOCK; j++) y[b * Q8_0_BLOCK + j] = f(view.getInt8(at + 2 + j) * d);
  }
  return y;
}
