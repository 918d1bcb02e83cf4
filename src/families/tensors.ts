/**
 * Weight-layout helpers the adapters share: Hugging Face Linear weights
 * ([out, in]) become MatMul operands ([in, out]), q|k|v and gate|up are
 * packed, the softmax scale is folded into q, and partial or interleaved
 * rotary layouts are turned into the one form the graph implements.
 *
 * Rotary layout: the graph applies rotate_half over the whole head, pairing
 * dimension j with j + head_dim/2, with cos = 1 and sin = 0 on the slots
 * beyond rotary_dim/2 (see rope.ts). Any other layout (partial rotary,
 * GPT-J's interleaved pairs) is mapped onto it by permuting the q and k
 * dimensions inside each head; q·k is unchanged by a permutation applied to
 * both, so attention computes exactly what the family computes. Only the
 * layout of cached keys differs from the family's own.
 */
import type { DecoderConfig, NormTensors, Tensor, TensorReader } from './types.js';

/**
 * Writes the transpose of `src` ([rows, cols], row-major) into columns
 * `colOffset .. colOffset + rows` of `dst` ([cols, dstCols]), scaled by `scale`.
 */
export function transposeInto(src: Float32Array, rows: number, cols: number, dst: Float32Array, dstCols: number, colOffset: number, scale = 1): void {
  const TILE = 32;
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(rows, r0 + TILE);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(cols, c0 + TILE);
      for (let r = r0; r < r1; r++) {
        const srcRow = r * cols;
        const dstCol = colOffset + r;
        for (let c = c0; c < c1; c++) dst[c * dstCols + dstCol] = (src[srcRow + c] as number) * scale;
      }
    }
  }
}

/** Copies `src` into `dst` at `offset`, scaled. */
export function copyScaled(src: Float32Array, dst: Float32Array, offset: number, scale = 1): void {
  if (scale === 1) { dst.set(src, offset); return; }
  for (let i = 0; i < src.length; i++) dst[offset + i] = (src[i] as number) * scale;
}

export function tensor(name: string, dims: number[], data: Float32Array): Tensor {
  return { name, dims, data };
}

/** A [out, in] Linear weight as a [in, out] MatMul operand. */
export function linearT(src: TensorReader, name: string, out: number, inp: number, as = `${name}_t`): Tensor {
  const t = new Float32Array(out * inp);
  transposeInto(src.read(name), out, inp, t, out, 0);
  return tensor(as, [inp, out], t);
}

export interface NormOptions {
  bias?: string;
  /** Gemma's (1 + w) convention, folded into the stored weight. */
  unitOffset?: boolean;
  /** Extra factor folded into the weight (the softmax scale on a q norm). */
  scale?: number;
  /** Head-dimension permutation (see {@link rotaryPermutation}). */
  perm?: Int32Array;
}

export function norm(src: TensorReader, name: string, size: number, options: NormOptions = {}): NormTensors {
  let w = src.read(name);
  const offset = options.unitOffset ? 1 : 0;
  const scale = options.scale ?? 1;
  if (offset !== 0 || scale !== 1) for (let i = 0; i < w.length; i++) w[i] = ((w[i] as number) + offset) * scale;
  if (options.perm) w = permuteRows(w, 1, size, 1, options.perm);
  const out: NormTensors = { weight: tensor(offset || scale !== 1 || options.perm ? `${name}_folded` : name, [size], w) };
  if (options.bias) {
    let b = src.read(options.bias);
    if (options.perm) b = permuteRows(b, 1, size, 1, options.perm);
    out.bias = tensor(options.bias, [size], b);
  }
  return out;
}

/**
 * Where each head slot of the graph's layout reads from in the family's
 * layout, or undefined when they are the same (full rotate_half).
 */
export function rotaryPermutation(cfg: DecoderConfig): Int32Array | undefined {
  const rope = cfg.rope;
  const hd = cfg.headDim;
  if (!rope || (rope.rotaryDim === hd && !rope.interleaved)) return undefined;
  const half = hd / 2;
  const rHalf = rope.rotaryDim / 2;
  const perm = new Int32Array(hd);
  for (let j = 0; j < rHalf; j++) {
    perm[j] = rope.interleaved ? 2 * j : j;
    perm[half + j] = rope.interleaved ? 2 * j + 1 : rHalf + j;
  }
  let pass = rope.rotaryDim;
  for (let j = rHalf; j < half; j++) perm[j] = pass++;
  for (let j = half + rHalf; j < hd; j++) perm[j] = pass++;
  return perm;
}

/** Rows of `src` ([heads·hd, cols]) reordered within each head by `perm`. */
export function permuteRows(src: Float32Array, heads: number, hd: number, cols: number, perm: Int32Array): Float32Array {
  const out = new Float32Array(src.length);
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < hd; j++) {
      const from = (h * hd + (perm[j] as number)) * cols;
      out.set(src.subarray(from, from + cols), (h * hd + j) * cols);
    }
  }
  return out;
}

/** q, k, v in the Hugging Face layout: weights [out, in], optional biases. */
export interface QkvParts { q: Float32Array; k: Float32Array; v: Float32Array; qBias?: Float32Array; kBias?: Float32Array; vBias?: Float32Array }

/**
 * Packs q|k|v into [hidden, (nH + 2·nKV)·hd] (and the bias), with the softmax
 * scale of `layer` folded into q unless the family norms q afterwards, and
 * the rotary permutation applied to q and k.
 */
export function packQkv(cfg: DecoderConfig, layer: number, parts: QkvParts, name: string): { qkv: Tensor; qkvBias?: Tensor } {
  const { hiddenSize: H, numHeads: nH, numKvHeads: nKV, headDim: hd } = cfg;
  const qOut = nH * hd;
  const kvOut = nKV * hd;
  const width = qOut + 2 * kvOut;
  const scale = cfg.block.qkNorm ? 1 : (cfg.queryScale[layer] as number);
  const perm = rotaryPermutation(cfg);
  const q = perm ? permuteRows(parts.q, nH, hd, H, perm) : parts.q;
  const k = perm ? permuteRows(parts.k, nKV, hd, H, perm) : parts.k;
  const w = new Float32Array(H * width);
  transposeInto(q, qOut, H, w, width, 0, scale);
  transposeInto(k, kvOut, H, w, width, qOut);
  transposeInto(parts.v, kvOut, H, w, width, qOut + kvOut);
  const out: { qkv: Tensor; qkvBias?: Tensor } = { qkv: tensor(`${name}.weight_t`, [H, width], w) };
  if (parts.qBias || parts.kBias || parts.vBias) {
    const b = new Float32Array(width);
    const qb = parts.qBias && perm ? permuteRows(parts.qBias, nH, hd, 1, perm) : parts.qBias;
    const kb = parts.kBias && perm ? permuteRows(parts.kBias, nKV, hd, 1, perm) : parts.kBias;
    if (qb) copyScaled(qb, b, 0, scale);
    if (kb) copyScaled(kb, b, qOut);
    if (parts.vBias) copyScaled(parts.vBias, b, qOut + kvOut);
    out.qkvBias = tensor(`${name}.bias`, [width], b);
  }
  return out;
}

/** Reads an optional tensor. */
export function maybe(src: TensorReader, name: string, present: boolean): Float32Array | undefined {
  return present ? src.read(name) : undefined;
}
