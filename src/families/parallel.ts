/** The block structure the parallel-residual families share (GPT-J, Phi-1/2, GPT-NeoX). */
import type { BlockStructure } from './types.js';

export const PARALLEL_STRUCTURE: BlockStructure = {
  residual: 'parallel', norm: 'layer', normUnitOffset: false, separateMlpNorm: false, sandwich: false, qkNorm: false, mlp: 'plain', activation: 'gelu_tanh',
  embeddingScale: 1, learnedPositions: false, attnSoftcap: undefined, finalSoftcap: undefined, headBias: false,
};

/** Rows [start, start + count) of each of `heads` groups of `stride` rows ([rows, cols] row-major), concatenated. */
export function headRows(src: Float32Array, heads: number, stride: number, start: number, count: number, cols: number): Float32Array {
  const out = new Float32Array(heads * count * cols);
  for (let h = 0; h < heads; h++) {
    const from = (h * stride + start) * cols;
    out.set(src.subarray(from, from + count * cols), h * count * cols);
  }
  return out;
}
