/**
 * `instrument --quantize` on fp32 exports of every family the fixtures hold:
 * the quantized hooked graph against the fp32 hooked graph of the same
 * export, on the same ids. Logits within a stated share of the largest
 * |logit| (int8 8%, int4 45%; measured worst cases 5.2% on the TinyStories
 * export and 37% on the Gemma2 tiny-random one, whose 32-input columns make
 * one 4-bit block the whole column), the steering response within twice
 * that, and the refusals (fp16 export, an export already quantized).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UnsupportedDtypeError } from '../../src/errors.js';
import { instrumentModel } from '../../src/instrument/index.js';
import { readModel } from '../../src/onnx/io.js';
import { ModelRunner } from '../../src/runtime/runner.js';
import { CompiledPlan } from '../../src/steering/compile.js';
import { DECODERS, tempDir } from '../helpers/fixtures.js';

const work = tempDir('instrument-quantize');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const FP32 = DECODERS.filter((f) => f.dtype === 'float32' && !f.dynamicQuant && !f.id.startsWith('ortq-') && f.output === 'logits' && f.maxSequence === undefined && f.cache !== 'static');
const TOLERANCE = { int8: 0.08, int4: 0.45 } as const;

async function logits(dir: string, ids: number[], steer?: Float32Array): Promise<Float32Array> {
  const r = await ModelRunner.open(dir, { intraOpNumThreads: 1 });
  try {
    const H = r.manifest.hiddenSize;
    const site = `blocks.${r.manifest.numBlocks - 1}.hook_resid_post`;
    const plan = steer ? new CompiledPlan([{ site, vector: steer, strength: 1 }], r.manifest.sites, H, r.manifest.dtype) : undefined;
    const out = await r.forward({ ids, batch: 1, seqLen: ids.length, cache: r.emptyCache(1), ...(plan ? { hookFeeds: plan.feeds({ starts: [0], promptLengths: [ids.length], seqLen: ids.length }) } : {}) });
    return out.logits?.data ?? new Float32Array();
  } finally {
    await r.release();
  }
}

function relErr(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0; let m = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs((a[i] as number) - (b[i] as number))); m = Math.max(m, Math.abs(b[i] as number)); }
  return d / m;
}

describe('instrument --quantize', () => {
  it('covers the fp32 fixtures of every family', () => {
    expect(FP32.map((f) => f.id)).toEqual(expect.arrayContaining(['torch-legacy-tinystories-656k', 'torch-tiny-random-Qwen2ForCausalLM', 'torch-tiny-random-GPT2LMHeadModel', 'torch-tiny-random-GPTJForCausalLM', 'torch-tiny-random-Gemma2ForCausalLM', 'ortgenai-ortopt-tiny-gpt2-fp32']));
  });

  for (const fx of FP32) {
    it(`${fx.id}: int8 and int4 logits and steering follow fp32`, async () => {
      const base = join(work, fx.id);
      const fp32 = await instrumentModel(fx.input, join(base, 'fp32'), { sites: ['hook_resid_post'] });
      const ids = [1, 5, 9, 3, 7, 2, 11, 4];
      const H = fp32.hiddenSize;
      const vector = Float32Array.from({ length: H }, (_, i) => Math.cos(i) * 2);
      const ref = await logits(join(base, 'fp32'), ids);
      const refSteered = await logits(join(base, 'fp32'), ids, vector);
      for (const scheme of ['int8', 'int4'] as const) {
        const dir = join(base, scheme);
        const m = await instrumentModel(fx.input, dir, { sites: ['hook_resid_post'], quantize: scheme });
        expect(m.fingerprint).toBe(fp32.fingerprint);
        expect(m.sites.map((s) => s.name)).toEqual(fp32.sites.map((s) => s.name));
        expect(m.origin.producer).toContain(`weights=${scheme}`);
        const ops = readModel(join(dir, 'model.onnx')).model.graph?.node.map((n) => n.opType) ?? [];
        expect(ops).toContain(scheme === 'int8' ? 'DynamicQuantizeMatMul' : 'MatMulNBits');
        const q = await logits(dir, ids);
        const qSteered = await logits(dir, ids, vector);
        expect(relErr(q, ref)).toBeLessThan(TOLERANCE[scheme]);
        expect(relErr(qSteered, refSteered)).toBeLessThan(TOLERANCE[scheme]);
        // The steering response itself (steered − unsteered) follows fp32's.
        const dq = qSteered.map((v, i) => v - (q[i] as number));
        const df = refSteered.map((v, i) => v - (ref[i] as number));
        expect(relErr(dq, df)).toBeLessThan(2 * TOLERANCE[scheme]);
      }
    }, 60_000);
  }

  it('refuses an fp16 export and an export with nothing left to quantize', async () => {
    const fp16 = DECODERS.find((f) => f.id === 'ortgenai-mb-tiny-llama-fp16');
    if (!fp16) throw new Error('fixture missing');
    await expect(instrumentModel(fp16.input, join(work, 'fp16'), { quantize: 'int8' })).rejects.toThrow(UnsupportedDtypeError);
    const int4 = DECODERS.find((f) => f.id === 'ortq-mb-tiny-llama-gqa-int4');
    if (!int4) throw new Error('fixture missing');
    await expect(instrumentModel(int4.input, join(work, 'int4'), { quantize: 'int8' })).rejects.toThrow(/no fp32 MatMul\/Gemm weight/);
  }, 60_000);
});
