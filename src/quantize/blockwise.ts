/**
 * Block-wise weight quantization in com.microsoft MatMulNBits layout, for 4
 * and 8 bits, any block size, with or without zero points.
 *
 * Layout (the kernel's): for each output column n and block b of `block`
 * consecutive inputs k, `block · bits / 8` bytes; at 4 bits even k sits in
 * the low nibble. One fp32 scale per (n, b), row-major [N, blocks]. Zero
 * points, when written, are uint8 [N, ceil(blocks · bits / 8)], two blocks
 * per byte at 4 bits (even block in the low nibble). Without zero points the
 * kernel uses 2^(bits-1) (8 or 128).
 *
 * - symmetric: s = max|w| / (2^(bits-1) − 1), q = round(w / s) + 2^(bits-1);
 * - asymmetric: the block's range [min(w, 0), max(w, 0)] over 2^bits − 1
 *   steps, zp = round(−min / s), q = round(w / s) + zp (0 exactly
 *   representable, every code used).
 */
export type NBits = 4 | 8;

export interface BlockwiseOptions { bits: NBits; block: number; zeroPoints: boolean }

export interface Blockwise {
  /** [N, blocks, block · bits / 8] */
  packed: Uint8Array;
  /** [N · blocks] */
  scales: Float32Array;
  /** [N, ceil(blocks · bits / 8)] when `zeroPoints` */
  zeroPoints?: Uint8Array;
  blocks: number;
}

/** Bytes of zero points per output column. */
export function zeroPointCols(blocks: number, bits: NBits): number {
  return Math.ceil((blocks * bits) / 8);
}

/**
 * `w` holds W[k, n] as [K, N] row-major, or as [N, K] when `nMajor` (a Gemm
 * with transB). K need not be a multiple of the block: the last block is
 * padded with zeros.
 */
export function quantizeBlockwise(w: Float32Array, K: number, N: number, nMajor: boolean, opts: BlockwiseOptions): Blockwise {
  const { bits, block, zeroPoints } = opts;
  const blocks = Math.ceil(K / block);
  const blob = (block * bits) / 8;
  const levels = 2 ** bits - 1;
  const mid = 2 ** (bits - 1);
  const packed = new Uint8Array(N * blocks * blob);
  const scales = new Float32Array(N * blocks);
  const zpCols = zeroPointCols(blocks, bits);
  const zps = zeroPoints ? new Uint8Array(N * zpCols) : undefined;
  const col = new Float32Array(block);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < blocks; b++) {
      const k0 = b * block;
      const k1 = Math.min(K, k0 + block);
      col.fill(0);
      for (let k = k0; k < k1; k++) col[k - k0] = (nMajor ? w[n * K + k] : w[k * N + n]) as number;
      let zp = mid;
      let s: number;
      if (zps) {
        let lo = 0;
        let hi = 0;
        for (const v of col) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
        s = hi > lo ? (hi - lo) / levels : 1;
        zp = Math.max(0, Math.min(levels, Math.round(-lo / s)));
        const j = n * zpCols + ((b * bits) >> 3);
        zps[j] = bits === 8 ? zp : ((zps[j] as number) | (b % 2 === 0 ? zp : zp << 4)) & 0xff;
      } else {
        let m = 0;
        for (const v of col) m = Math.max(m, Math.abs(v));
        s = m > 0 ? m / (mid - 1) : 1;
      }
      scales[n * blocks + b] = s;
      const off = (n * blocks + b) * blob;
      for (let i = 0; i < block; i++) {
        const q = Math.max(0, Math.min(levels, Math.round((col[i] as number) / s) + zp));
        if (bits === 8) packed[off + i] = q;
        else {
          const j = off + (i >> 1);
          packed[j] = ((packed[j] as number) | (i % 2 === 0 ? q : q << 4)) & 0xff;
        }
      }
    }
  }
  return zps ? { packed, scales, zeroPoints: zps, blocks } : { packed, scales, blocks };
}

/** W[k, n] as the kernel reconstructs it: (q − zp) · s. */
export function dequantizeBlockwise(q: Blockwise, K: number, N: number, opts: BlockwiseOptions): Float32Array {
  const { bits, block } = opts;
  const blob = (block * bits) / 8;
  const zpCols = zeroPointCols(q.blocks, bits);
  const out = new Float32Array(K * N);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const b = Math.floor(k / block);
      const i = k - b * block;
      const byte = q.packed[(n * q.blocks + b) * blob + (bits === 8 ? i : i >> 1)] as number;
      const code = bits === 8 ? byte : i % 2 === 0 ? byte & 15 : byte >> 4;
      let zp = 2 ** (bits - 1);
      if (q.zeroPoints) {
        const z = q.zeroPoints[n * zpCols + ((b * bits) >> 3)] as number;
        zp = bits === 8 ? z : b % 2 === 0 ? z & 15 : z >> 4;
      }
      out[k * N + n] = (code - zp) * (q.scales[n * q.blocks + b] as number);
    }
  }
  return out;
}
