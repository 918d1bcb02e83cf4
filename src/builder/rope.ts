/**
 * Rotary position embedding tables, computed in float64 and stored as float32.
 * Follows the Hugging Face "rotate_half" convention: dimension d and
 * d + head_dim/2 form a rotation pair with frequency inv_freq[d]. With
 * partial rotary (rotary_dim < head_dim), frequencies come from rotary_dim and
 * the slots past rotary_dim/2 get cos 1 and sin 0: the adapters place the
 * rotating dimensions in the first rotary_dim/2 slots of each half (see
 * families/tensors.ts), so one table shape serves every family.
 */
import type { RopeConfig } from '../families/index.js';

/** inv_freq[i] = theta^(−2i/dim), with linear or llama3 scaling applied. */
export function inverseFrequencies(rope: RopeConfig, dim: number): Float64Array {
  const half = dim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / rope.theta ** ((2 * i) / dim);
  if (rope.type === 'linear') {
    for (let i = 0; i < half; i++) inv[i] = (inv[i] as number) / rope.factor;
  } else if (rope.type === 'llama3') {
    const lowWavelen = rope.originalMaxPositions / rope.lowFreqFactor;
    const highWavelen = rope.originalMaxPositions / rope.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const f = inv[i] as number;
      const wavelen = (2 * Math.PI) / f;
      if (wavelen < highWavelen) continue;
      if (wavelen > lowWavelen) { inv[i] = f / rope.factor; continue; }
      const smooth = (rope.originalMaxPositions / wavelen - rope.lowFreqFactor) / (rope.highFreqFactor - rope.lowFreqFactor);
      inv[i] = (1 - smooth) * (f / rope.factor) + smooth * f;
    }
  }
  return inv;
}

export interface RopeTables {
  /** [positions, dim/2]: cos and sin of position × inv_freq (GroupQueryAttention caches). */
  cosHalf: Float32Array;
  sinHalf: Float32Array;
  /** [positions, dim]: cos repeated twice, and sin with the first half negated (rotate_half folded in). */
  cosFull: Float32Array;
  sinSigned: Float32Array;
}

export function ropeTables(rope: RopeConfig, dim: number, positions: number, which: { half: boolean; full: boolean }): Partial<RopeTables> {
  const inv = inverseFrequencies(rope, rope.rotaryDim);
  const half = dim / 2;
  const rotating = rope.rotaryDim / 2;
  const out: Partial<RopeTables> = {};
  if (which.half) { out.cosHalf = new Float32Array(positions * half); out.sinHalf = new Float32Array(positions * half); }
  if (which.full) { out.cosFull = new Float32Array(positions * dim); out.sinSigned = new Float32Array(positions * dim); }
  const { cosHalf, sinHalf, cosFull, sinSigned } = out;
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = i < rotating ? p * (inv[i] as number) : 0;
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      if (cosHalf && sinHalf) { cosHalf[p * half + i] = c; sinHalf[p * half + i] = s; }
      if (cosFull && sinSigned) {
        const row = p * dim;
        cosFull[row + i] = c; cosFull[row + half + i] = c;
        sinSigned[row + i] = -s; sinSigned[row + half + i] = s;
      }
    }
  }
  return out;
}
