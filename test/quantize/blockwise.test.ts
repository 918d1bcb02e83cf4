/**
 * Block-wise MatMulNBits quantization: round trip within half a step, the
 * layout the kernel reads (onnxruntime's MatMulNBits on the packed weights
 * against x · dequantized W, for 4 and 8 bits, several block sizes, with and
 * without zero points, at accuracy levels 0 and 4), and the symmetric 4-bit
 * block-32 case bit for bit as the original `quantizeInt4`.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { makeTensor } from '../../src/onnx/attributes.js';
import { emptyModel, GraphEditor, makeValueInfo } from '../../src/onnx/graph.js';
import { DataType, ModelCodec } from '../../src/onnx/proto.js';
import { dequantizeBlockwise, quantizeBlockwise, type BlockwiseOptions } from '../../src/quantize/blockwise.js';
import { quantizeInt4 } from '../../src/quantize/weights.js';

const K = 80; // not a multiple of 32, 64 or 128: the last block is padded
const N = 24;
const w = Float32Array.from({ length: K * N }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 5)) + (i % 7 === 0 ? 0.8 : -0.1));
const transpose = (a: Float32Array) => Float32Array.from({ length: K * N }, (_, i) => a[(i % K) * N + Math.floor(i / K)] as number);

const cases: BlockwiseOptions[] = [];
for (const bits of [4, 8] as const) for (const block of [16, 32, 64, 128]) for (const zeroPoints of [false, true]) cases.push({ bits, block, zeroPoints });

describe('quantizeBlockwise', () => {
  it.each(cases)('round-trips within half a step: %o', (opts) => {
    const q = quantizeBlockwise(w, K, N, false, opts);
    const d = dequantizeBlockwise(q, K, N, opts);
    for (let k = 0; k < K; k++) {
      for (let n = 0; n < N; n++) {
        const s = q.scales[n * q.blocks + Math.floor(k / opts.block)] as number;
        expect(Math.abs((d[k * N + n] as number) - (w[k * N + n] as number))).toBeLessThanOrEqual(s / 2 + 1e-6);
      }
    }
    expect(quantizeBlockwise(transpose(w), K, N, true, opts)).toEqual(q);
  });

  it('zero points use every code and shrink the error against symmetric blocks', () => {
    const sym = { bits: 4, block: 32, zeroPoints: false } as const;
    const asym = { ...sym, zeroPoints: true };
    const err = (o: BlockwiseOptions) => {
      const d = dequantizeBlockwise(quantizeBlockwise(w, K, N, false, o), K, N, o);
      return d.reduce((a, v, i) => a + (v - (w[i] as number)) ** 2, 0);
    };
    expect(err(asym)).toBeLessThan(err(sym));
  });

  it('symmetric 4-bit block 32 is the original int4 layout, bit for bit', () => {
    const q = quantizeBlockwise(w, K, N, false, { bits: 4, block: 32, zeroPoints: false });
    const old = quantizeInt4(w, K, N, false);
    expect(q.packed).toEqual(old.packed);
    expect(q.scales).toEqual(old.scales);
  });

  it.each(cases.flatMap((c) => [0, 4].map((acc) => ({ ...c, acc }))))('is the layout onnxruntime MatMulNBits reads: %o', async ({ acc, ...opts }) => {
    const q = quantizeBlockwise(w, K, N, false, opts);
    const model = emptyModel('nbits', { name: 'test', version: '0' });
    const e = new GraphEditor(model);
    e.ensureOpset('com.microsoft', 1);
    e.addInput(makeValueInfo('x', DataType.FLOAT, [1, K]));
    e.addInitializer(makeTensor('w', DataType.UINT8, [N, q.blocks, (opts.block * opts.bits) / 8], q.packed));
    e.addInitializer(makeTensor('s', DataType.FLOAT, [N * q.blocks], new Uint8Array(q.scales.buffer)));
    const inputs = ['x', 'w', 's'];
    if (q.zeroPoints) { e.addInitializer(makeTensor('z', DataType.UINT8, [q.zeroPoints.length], q.zeroPoints)); inputs.push('z'); }
    e.addNode('MatMulNBits', inputs, ['y'], { K, N, bits: opts.bits, block_size: opts.block, accuracy_level: acc }, { domain: 'com.microsoft' });
    e.addOutput(makeValueInfo('y', DataType.FLOAT, [1, N]));
    const session = await ort.InferenceSession.create(ModelCodec.encode(model), { intraOpNumThreads: 1, logSeverityLevel: 3 });
    const x = Float32Array.from({ length: K }, (_, i) => Math.cos(i * 0.37));
    const y = (await session.run({ x: new ort.Tensor('float32', x, [1, K]) })).y?.data as Float32Array;
    await session.release();
    const d = dequantizeBlockwise(q, K, N, opts);
    for (let n = 0; n < N; n++) {
      let ref = 0; let mag = 0;
      for (let k = 0; k < K; k++) { ref += (x[k] as number) * (d[k * N + n] as number); mag += Math.abs((x[k] as number) * (d[k * N + n] as number)); }
      // accuracy level 4 quantizes x to int8 per block: up to ~1% of Σ|x·w|.
      expect(Math.abs((y[n] as number) - ref)).toBeLessThanOrEqual((acc === 4 ? 0.01 : 1e-5) * mag + 1e-5);
    }
  });
});
