/**
 * Quantized builds of the default model: weights int8 (DynamicQuantizeMatMul)
 * or int4 (MatMulNBits, block 32 with zero points), hook sites fp32. Checked against the
 * float64 numpy reference logits at the last position of its 3 sequences:
 * max |Δ| ≤ 15% (int8) / 35% (int4) of the largest |logit|, the same argmax
 * on most positions, hooks present, and steering still moves the output.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../src/builder/index.js';
import { readModel } from '../../src/onnx/io.js';
import { INT4_FORMAT, quantizeInt4, quantizeInt8 } from '../../src/quantize/weights.js';
import { ModelRunner } from '../../src/runtime/runner.js';
import { CompiledPlan } from '../../src/steering/compile.js';
import { REFERENCE, TINYSTORIES, tempDir } from '../helpers/paths.js';

interface RefSeq { ids: number[]; logits_last: number[]; argmax_per_position: number[] }
const ref = JSON.parse(readFileSync(join(REFERENCE, 'tinystories-656k.reference.json'), 'utf8')) as { sequences: RefSeq[] };
const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('weight quantizers', () => {
  it('int8 and int4 round-trip a weight within half a step', () => {
    const K = 40; const N = 3;
    const w = Float32Array.from({ length: K * N }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 5)));
    const q8 = quantizeInt8(w, K, N, false);
    const q4 = quantizeInt4(w, K, N, false);
    for (let k = 0; k < K; k++) {
      for (let n = 0; n < N; n++) {
        const v = w[k * N + n] as number;
        expect(Math.abs((q8.values[k * N + n] as number) * (q8.scales[n] as number) - v)).toBeLessThanOrEqual((q8.scales[n] as number) / 2 + 1e-6);
        const b = k >> 5; const blocks = 2;
        const byte = q4.packed[(n * blocks + b) * 16 + ((k % 32) >> 1)] as number;
        const nib = (k % 2 === 0 ? byte & 15 : byte >> 4) - 8;
        const s = q4.scales[n * blocks + b] as number;
        expect(Math.abs(nib * s - v)).toBeLessThanOrEqual(s / 2 + 1e-6);
      }
    }
  });
});

for (const [scheme, tol, agree] of [['int8', 0.15, 0.8], ['int4', 0.35, 0.6]] as const) {
  describe(`${scheme} build of the default model`, () => {
    let runner: ModelRunner;
    let dir: string;
    beforeAll(async () => {
      dir = join(tmp.path, scheme);
      await buildModel(TINYSTORIES, dir, { quantize: scheme });
      runner = await ModelRunner.open(dir, { intraOpNumThreads: 1 });
    }, 120_000);
    afterAll(async () => { await runner?.release(); });

    it('has quantized weights and fp32 hook sites', () => {
      const { model } = readModel(join(dir, 'model.onnx'));
      const ops = model.graph?.node.map((n) => n.opType) ?? [];
      expect(ops).toContain(scheme === 'int8' ? 'DynamicQuantizeMatMul' : 'MatMulNBits');
      if (scheme === 'int4') {
        // INT4_FORMAT: block 32, a zero-point input, int8 activations.
        for (const n of model.graph?.node.filter((x) => x.opType === 'MatMulNBits') ?? []) {
          expect(n.input).toHaveLength(4);
          const attr = (name: string) => Number(n.attribute.find((a) => a.name === name)?.i);
          expect([attr('block_size'), attr('accuracy_level'), attr('bits')]).toEqual([INT4_FORMAT.block, INT4_FORMAT.accuracyLevel, 4]);
        }
      }
      expect(model.graph?.node.filter((n) => n.opType === 'MatMul' && model.graph?.initializer.some((t) => t.name === n.input[1]))).toHaveLength(0);
      expect(runner.manifest.sites.length).toBe(6);
      expect(runner.manifest.dtype).toBe('float32');
    });

    it(`logits within ${tol * 100}% of the largest |logit| of the float64 reference`, async () => {
      let agreeing = 0; let positions = 0;
      for (const seq of ref.sequences) {
        const out = await runner.forward({ ids: seq.ids, batch: 1, seqLen: seq.ids.length, cache: runner.emptyCache(1) });
        const logits = out.logits?.data ?? new Float32Array();
        const V = runner.manifest.vocabSize ?? 0;
        const last = logits.subarray((seq.ids.length - 1) * V, seq.ids.length * V);
        const scale = Math.max(...seq.logits_last.map(Math.abs));
        let maxDiff = 0;
        for (let i = 0; i < V; i++) maxDiff = Math.max(maxDiff, Math.abs((last[i] as number) - (seq.logits_last[i] as number)));
        expect(maxDiff).toBeLessThan(tol * scale);
        for (let p = 0; p < seq.ids.length; p++) {
          const row = logits.subarray(p * V, (p + 1) * V);
          let best = 0;
          for (let i = 1; i < V; i++) if ((row[i] as number) > (row[best] as number)) best = i;
          if (best === seq.argmax_per_position[p]) agreeing++;
          positions++;
        }
      }
      expect(agreeing / positions).toBeGreaterThanOrEqual(agree);
    });

    it('steering at a hook site still changes the logits', async () => {
      const H = runner.manifest.hiddenSize;
      const plan = new CompiledPlan([{ site: 'blocks.1.hook_resid_post', vector: Float32Array.from({ length: H }, (_, i) => Math.cos(i)), strength: 4 }], runner.manifest.sites, H, 'float32');
      const ids = ref.sequences[0]?.ids ?? [1];
      const base = await runner.forward({ ids, batch: 1, seqLen: ids.length, cache: runner.emptyCache(1) });
      const steered = await runner.forward({ ids, batch: 1, seqLen: ids.length, cache: runner.emptyCache(1), hookFeeds: plan.feeds({ starts: [0], promptLengths: [ids.length], seqLen: ids.length }) });
      const a = base.logits?.data ?? new Float32Array(); const b = steered.logits?.data ?? new Float32Array();
      let d = 0; for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs((a[i] as number) - (b[i] as number)));
      expect(d).toBeGreaterThan(0.1);
    });
  });
}
