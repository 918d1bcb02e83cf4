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

/**
 * GB/s of a read-only pass: onnxruntime's ReduceSum (vectorised, all intra-op
 * threads) over a float32 buffer far larger than the caches, fed without a
 * copy. Decoding reads weights and writes almost nothing, so this is the
 * bound that matters; the copy bound above counts a write per byte read.
 */
export async function readBandwidth(bytes = 512 * 1024 * 1024, runs = 5): Promise<Summary> {
  const ort = await import('onnxruntime-node');
  const { emptyModel, GraphEditor, makeValueInfo } = await import('../src/onnx/graph.js');
  const { DataType, ModelCodec } = await import('../src/onnx/proto.js');
  const model = emptyModel('read_bandwidth', { name: 'bench', version: '0' });
  const e = new GraphEditor(model);
  e.addInput(makeValueInfo('x', DataType.FLOAT, ['n']));
  e.addOutput(makeValueInfo('y', DataType.FLOAT, [1]));
  e.addNode('ReduceSum', ['x'], ['y'], { keepdims: 1 });
  const session = await ort.InferenceSession.create(ModelCodec.encode(model), { logSeverityLevel: 3 });
  const data = new Float32Array(bytes / 4);
  for (let i = 0; i < data.length; i += 1024) data[i] = 1;
  const x = new ort.Tensor('float32', data, [data.length]);
  await session.run({ x });
  const gbps: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    await session.run({ x });
    gbps.push(bytes / ((performance.now() - t) / 1000) / 1e9);
  }
  await session.release();
  return summarize(gbps);
}
