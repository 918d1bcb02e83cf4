/**
 * Weight quantization of a decoder graph, in memory, before it is written.
 *
 * - `int8`: every MatMul with a constant 2-D weight (and the LM head Gemm)
 *   becomes com.microsoft DynamicQuantizeMatMul: int8 weights with one
 *   symmetric scale per output column; activations are quantized per run by
 *   the kernel (uint8, dynamic range).
 * - `int4`: the same weights become com.microsoft MatMulNBits, 4 bits per
 *   weight in blocks of 32 along the input axis, one scale and one 4-bit
 *   zero point per block (the block's range [min, max] ∋ 0 over 15 steps),
 *   with int8 activations in the kernel (accuracy_level 4). Zero points cost
 *   nothing at batch 1 and lower the default model's perplexity ratio from
 *   1.075 (symmetric) to 1.062; blocks of 64/128 run 5–15% faster but lose
 *   more (bench/int4-kernels.ts, bench/int4-quality.ts, BENCHMARKS.md).
 *
 * Only weights change. The residual stream, norms, attention, embeddings and
 * every hook site stay in fp32, so hooks, steering and captures work as on
 * the fp32 build. A tied embedding keeps its fp32 table for the lookup; the
 * head gets its own quantized copy.
 */
import { InvalidArgumentError } from '../errors.js';
import { GraphEditor } from '../onnx/graph.js';
import { makeTensor } from '../onnx/attributes.js';
import { tensorFloat32 } from '../onnx/io.js';
import { DataType, toNumber, type ModelProto, type NodeProto, type TensorProto } from '../onnx/proto.js';
import { quantizeBlockwise, type NBits } from './blockwise.js';

export type Quantization = 'int8' | 'int4';
export const QUANTIZATIONS: readonly Quantization[] = ['int8', 'int4'];

/** What `int4` writes: MatMulNBits bits, block size, zero points, accuracy_level (bench/int4-kernels.ts sweeps the alternatives). */
export interface NBitsFormat { bits: NBits; block: number; zeroPoints: boolean; accuracyLevel: number }
export const INT4_FORMAT: NBitsFormat = { bits: 4, block: 32, zeroPoints: true, accuracyLevel: 4 };
export const INT4_BLOCK = INT4_FORMAT.block;
/** A short name of the weight format, e.g. `int4-b32-sym-acc4` (bench caches key builds by it). */
export function formatTag(scheme: Quantization, f: NBitsFormat = INT4_FORMAT): string {
  if (scheme === 'int8') return 'int8';
  return `int${f.bits}-b${f.block}-${f.zeroPoints ? 'zp' : 'sym'}-acc${f.accuracyLevel}`;
}
const MS = 'com.microsoft';

export function parseQuantization(value: string): Quantization {
  if (value === 'int8' || value === 'int4') return value;
  throw new InvalidArgumentError(`quantization must be one of ${QUANTIZATIONS.join(', ')}, got "${value}"`);
}

export interface QuantizeReport { scheme: Quantization; weights: number; fp32Bytes: number; quantizedBytes: number }

/** Rewrites `model` in place; `dir` is where its external weight data lives. `format`: the int4 layout (experiments only). */
export function quantizeWeights(model: ModelProto, dir: string, scheme: Quantization, format: NBitsFormat = INT4_FORMAT): QuantizeReport {
  const editor = new GraphEditor(model);
  editor.ensureOpset(MS, 1);
  const report: QuantizeReport = { scheme, weights: 0, fp32Bytes: 0, quantizedBytes: 0 };
  const weight = (name: string | undefined): TensorProto | undefined => {
    const t = name ? editor.initializer(name) : undefined;
    return t && t.dataType === DataType.FLOAT && t.dims.length === 2 ? t : undefined;
  };
  for (const node of [...editor.graph.node]) {
    const domain = node.domain ?? '';
    if (domain !== '') continue;
    let rows: number; // K (input features)
    let cols: number; // N (output features)
    let kMajor: Float32Array; // W as [K, N] row-major, or undefined when given as [N, K]
    let nMajor: boolean;
    if (node.opType === 'MatMul' && weight(node.input[1])) {
      const t = weight(node.input[1]) as TensorProto;
      rows = toNumber(t.dims[0]);
      cols = toNumber(t.dims[1]);
      kMajor = tensorFloat32(t, dir);
      nMajor = false;
    } else if (node.opType === 'Gemm' && node.input.length === 2 && weight(node.input[1]) && gemmIsPlainTransB(node)) {
      const t = weight(node.input[1]) as TensorProto;
      cols = toNumber(t.dims[0]);
      rows = toNumber(t.dims[1]);
      kMajor = tensorFloat32(t, dir);
      nMajor = true;
    } else {
      continue;
    }
    const base = `${node.input[1] ?? 'w'}.${scheme}`;
    const [x = '', w = ''] = node.input;
    const out = node.output[0] ?? '';
    const name = node.name ?? out;
    editor.removeNode(node);
    let bytes: number;
    if (scheme === 'int8') {
      const q = quantizeInt8(kMajor, rows, cols, nMajor);
      editor.addInitializer(makeTensor(`${base}.weight`, DataType.INT8, [rows, cols], new Uint8Array(q.values.buffer)));
      editor.addInitializer(makeTensor(`${base}.scale`, DataType.FLOAT, [cols], new Uint8Array(q.scales.buffer)));
      editor.addNode('DynamicQuantizeMatMul', [x, `${base}.weight`, `${base}.scale`], [out], {}, { name: `${name}/int8`, domain: MS });
      bytes = q.values.byteLength + q.scales.byteLength;
    } else {
      const f = format;
      const q = quantizeBlockwise(kMajor, rows, cols, nMajor, { bits: f.bits, block: f.block, zeroPoints: f.zeroPoints });
      const inputs = [x, `${base}.weight`, `${base}.scale`];
      editor.addInitializer(makeTensor(inputs[1] as string, DataType.UINT8, [cols, q.blocks, (f.block * f.bits) / 8], q.packed));
      editor.addInitializer(makeTensor(inputs[2] as string, DataType.FLOAT, [cols * q.blocks], new Uint8Array(q.scales.buffer)));
      bytes = q.packed.byteLength + q.scales.byteLength;
      if (q.zeroPoints) {
        inputs.push(`${base}.zero_point`);
        editor.addInitializer(makeTensor(`${base}.zero_point`, DataType.UINT8, [q.zeroPoints.length], q.zeroPoints));
        bytes += q.zeroPoints.byteLength;
      }
      editor.addNode('MatMulNBits', inputs, [out], { K: rows, N: cols, bits: f.bits, block_size: f.block, accuracy_level: f.accuracyLevel }, { name: `${name}/int${f.bits}`, domain: MS });
    }
    report.weights++;
    report.fp32Bytes += rows * cols * 4;
    report.quantizedBytes += bytes;
    if (editor.uses(w).length === 0) {
      editor.graph.initializer = editor.graph.initializer.filter((t) => t.name !== w);
      editor.reindex();
    }
  }
  editor.topologicalSort();
  return report;
}

function gemmIsPlainTransB(node: NodeProto): boolean {
  const attr = (n: string) => node.attribute.find((a) => a.name === n);
  const transA = attr('transA');
  const transB = attr('transB');
  const alpha = attr('alpha');
  return (!transA || toNumber(transA.i) === 0) && transB !== undefined && toNumber(transB.i) === 1 && (!alpha || alpha.f === 1);
}

/** W[k, n] from a [K, N] (nMajor false) or [N, K] (nMajor true) buffer. */
function at(w: Float32Array, k: number, n: number, K: number, N: number, nMajor: boolean): number {
  return (nMajor ? w[n * K + k] : w[k * N + n]) as number;
}

/** Symmetric int8 per output column: q = round(w / s), s = max|w| / 127. */
export function quantizeInt8(w: Float32Array, K: number, N: number, nMajor: boolean): { values: Int8Array; scales: Float32Array } {
  const scales = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    let m = 0;
    for (let k = 0; k < K; k++) m = Math.max(m, Math.abs(at(w, k, n, K, N, nMajor)));
    scales[n] = m > 0 ? m / 127 : 1;
  }
  const values = new Int8Array(K * N);
  for (let k = 0; k < K; k++) {
    for (let n = 0; n < N; n++) {
      const q = Math.round(at(w, k, n, K, N, nMajor) / (scales[n] as number));
      values[k * N + n] = Math.max(-127, Math.min(127, q));
    }
  }
  return { values, scales };
}

/**
 * The original int4 layout (symmetric, block 32): for each output column n
 * and block b of 32 inputs, 16 bytes holding q[k] = round(w / s) + 8 in
 * [0, 15], even k in the low nibble; s = max|w| / 7 per block.
 */
export function quantizeInt4(w: Float32Array, K: number, N: number, nMajor: boolean): { packed: Uint8Array; scales: Float32Array } {
  const { packed, scales } = quantizeBlockwise(w, K, N, nMajor, { bits: 4, block: 32, zeroPoints: false });
  return { packed, scales };
}
