/**
 * The machine's limits: memory bandwidth from a large copy, and the decode
 * bound it implies at batch 1 (every weight byte is read once per token).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { summarize, type Summary } from './stats.js';

/** GB/s of a large typed-array copy (read + write counted), median of runs. */
export function copyBandwidth(bytes = 512 * 1024 * 1024, runs = 5): Summary {
  const src = new Float64Array(bytes / 8);
  for (let i = 0; i < src.length; i += 512) src[i] = i;
  const dst = new Float64Array(bytes / 8);
  dst.set(src);
  const gbps: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    dst.set(src);
    const s = (performance.now() - t) / 1000;
    gbps.push((2 * bytes) / s / 1e9);
  }
  return summarize(gbps);
}

/** Bytes of weights read per decoded token: the model's initializer bytes. */
export function weightBytes(modelDir: string): number {
  const data = join(modelDir, 'model.onnx.data');
  try {
    return statSync(data).size;
  } catch {
    return statSync(join(modelDir, 'model.onnx')).size;
  }
}
