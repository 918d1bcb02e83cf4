/**
 * The matrix-vector kernels behind batch-1 decode, on their own: a chain of
 * `layers` [D, D] weight products applied to one row, as fp32 MatMul,
 * int8 DynamicQuantizeMatMul (what `--quantize int8` writes), 8-bit
 * MatMulNBits and 4-bit MatMulNBits (what `--quantize int4` writes), at one
 * intra-op thread. Each round runs every variant once (A B C D A B C D …);
 * the figure per variant is the median CPU time per chain and the weight
 * bytes it streams per CPU second, so a kernel that is slower than the
 * memory shows up as fewer GB/s than fp32's.
 *
 *   npx tsx bench/kernels.ts [--dim=4096] [--layers=6] [--rounds=7]
 */
import { execSync } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { makeTensor } from '../src/onnx/attributes.js';
import { emptyModel, GraphEditor, makeValueInfo } from '../src/onnx/graph.js';
import { DataType, ModelCodec } from '../src/onnx/proto.js';
import { INT4_BLOCK, quantizeInt4, quantizeInt8 } from '../src/quantize/weights.js';
import { summarize } from './stats.js';

type Variant = 'fp32' | 'int8-dqmm' | 'int8-nbits' | 'int4-nbits';
const MS = 'com.microsoft';

/** 8-bit MatMulNBits blobs: q = round(w / s) + 128 per block of 32 inputs, s = max|w| / 127 (zero point 128, the kernel default). */
function quantizeNBits8(w: Float32Array, K: number, N: number): { packed: Uint8Array; scales: Float32Array } {
  const blocks = Math.ceil(K / INT4_BLOCK);
  const packed = new Uint8Array(N * blocks * INT4_BLOCK);
  const scales = new Float32Array(N * blocks);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < blocks; b++) {
      let m = 0;
      for (let k = b * INT4_BLOCK; k < Math.min(K, (b + 1) * INT4_BLOCK); k++) m = Math.max(m, Math.abs(w[k * N + n] as number));
      const s = m > 0 ? m / 127 : 1;
      scales[n * blocks + b] = s;
      for (let k = b * INT4_BLOCK; k < (b + 1) * INT4_BLOCK; k++) {
        const v = k < K ? (w[k * N + n] as number) : 0;
        packed[(n * blocks + b) * INT4_BLOCK + (k - b * INT4_BLOCK)] = Math.max(1, Math.min(255, Math.round(v / s) + 128));
      }
    }
  }
  return { packed, scales };
}

function chain(variant: Variant, D: number, layers: number): { model: Uint8Array; weightBytes: number } {
  const model = emptyModel(`chain_${variant}`, { name: 'bench', version: '0' });
  const e = new GraphEditor(model);
  e.ensureOpset(MS, 1);
  e.addInput(makeValueInfo('x0', DataType.FLOAT, [1, D]));
  let bytes = 0;
  let seed = 1;
  const rand = () => { seed = (seed * 1103515245 + 12345) >>> 0; return (seed / 2 ** 32 - 0.5) * (2 / Math.sqrt(D)); };
  for (let l = 0; l < layers; l++) {
    const w = Float32Array.from({ length: D * D }, rand);
    const x = `x${l}`;
    const y = `x${l + 1}`;
    if (variant === 'fp32') {
      e.addInitializer(makeTensor(`w${l}`, DataType.FLOAT, [D, D], new Uint8Array(w.buffer)));
      e.addNode('MatMul', [x, `w${l}`], [y]);
      bytes += w.byteLength;
    } else if (variant === 'int8-dqmm') {
      const q = quantizeInt8(w, D, D, false);
      e.addInitializer(makeTensor(`w${l}`, DataType.INT8, [D, D], new Uint8Array(q.values.buffer)));
      e.addInitializer(makeTensor(`s${l}`, DataType.FLOAT, [D], new Uint8Array(q.scales.buffer)));
      e.addNode('DynamicQuantizeMatMul', [x, `w${l}`, `s${l}`], [y], {}, { domain: MS });
      bytes += q.values.byteLength;
    } else {
      const bits = variant === 'int8-nbits' ? 8 : 4;
      // quantizeInt4 reads W as [N, K] when nMajor; here W is [K, N].
      const q = bits === 8 ? quantizeNBits8(w, D, D) : quantizeInt4(w, D, D, false);
      const blocks = Math.ceil(D / INT4_BLOCK);
      e.addInitializer(makeTensor(`w${l}`, DataType.UINT8, [D, blocks, (INT4_BLOCK * bits) / 8], q.packed));
      e.addInitializer(makeTensor(`s${l}`, DataType.FLOAT, [D * blocks], new Uint8Array(q.scales.buffer)));
      e.addNode('MatMulNBits', [x, `w${l}`, `s${l}`], [y], { K: D, N: D, bits, block_size: INT4_BLOCK, accuracy_level: 4 }, { domain: MS });
      bytes += q.packed.byteLength;
    }
  }
  e.addOutput(makeValueInfo(`x${layers}`, DataType.FLOAT, [1, D]));
  return { model: ModelCodec.encode(model), weightBytes: bytes };
}

async function main(): Promise<void> {
  const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const D = Number(arg('dim') ?? 4096);
  const layers = Number(arg('layers') ?? 6);
  const rounds = Number(arg('rounds') ?? 7);
  const up = () => process.stdout.write(`${JSON.stringify({ uptime: execSync('uptime').toString().trim() })}\n`);
  up();
  const variants: Variant[] = ['fp32', 'int8-dqmm', 'int8-nbits', 'int4-nbits'];
  const sessions = [];
  for (const v of variants) {
    const { model, weightBytes } = chain(v, D, layers);
    const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });
    sessions.push({ v, s, weightBytes, cpu: [] as number[] });
  }
  const x = new ort.Tensor('float32', Float32Array.from({ length: D }, (_, i) => Math.sin(i)), [1, D]);
  for (const e of sessions) for (let i = 0; i < 2; i++) await e.s.run({ x0: x });
  for (let r = 0; r < rounds; r++) {
    for (const e of sessions) {
      const c = process.cpuUsage();
      for (let i = 0; i < 4; i++) await e.s.run({ x0: x });
      const u = process.cpuUsage(c);
      e.cpu.push((u.user + u.system) / 1000 / 4);
    }
  }
  const fp32 = summarize(sessions[0]?.cpu ?? []).median;
  for (const e of sessions) {
    const ms = summarize(e.cpu);
    process.stdout.write(`${JSON.stringify({ kernel: e.v, dim: D, layers, weightMiB: e.weightBytes / 2 ** 20, cpuMsPerChain: ms, gbPerCpuSecond: e.weightBytes / (ms.median / 1000) / 1e9, speedupVsFp32: fp32 / ms.median })}\n`);
    await e.s.release();
  }
  up();
}

main().catch((err: unknown) => {
  process.stderr.write(`kernels bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
