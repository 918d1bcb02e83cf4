import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnsupportedArchitectureError } from '../../src/errors.js';
import { readManifest, type HooksManifest } from '../../src/hooks/manifest.js';
import { bakeModel } from '../../src/interop/bake.js';
import { makeValueInfo } from '../../src/onnx/graph.js';
import { readModel, writeModel } from '../../src/onnx/io.js';
import { DataType } from '../../src/onnx/proto.js';
import type { HookedModel } from '../../src/model/hooked-model.js';
import type { Intervention } from '../../src/steering/plan.js';
import { SteeringVector } from '../../src/vectors/vector.js';
import { defaultDir, loadDefault } from '../helpers/models.js';
import { REPO, tempDir } from '../helpers/paths.js';

const tmp = tempDir('onnx-steer-bake-');
let model: HookedModel;
let modelDir: string;
let manifest: HooksManifest;
const joy = SteeringVector.load(join(REPO, 'vectors/tinystories-656k/joy.json'));
const PROMPT = 'Once upon a time';
const N = 20;

beforeAll(async () => { modelDir = await defaultDir(); manifest = readManifest(modelDir); model = await loadDefault(); }, 300_000);
afterAll(async () => { await model.dispose(); tmp.cleanup(); });

async function transformersJsGreedy(dir: string, ids: readonly number[]): Promise<number[]> {
  const tjs = await import('@huggingface/transformers');
  tjs.env.allowRemoteModels = false;
  tjs.env.allowLocalModels = true;
  tjs.env.localModelPath = join(dir, '..');
  const m = await tjs.AutoModelForCausalLM.from_pretrained(dir.split('/').at(-1) ?? '', { dtype: 'fp32', device: 'cpu' });
  try {
    const input = new tjs.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
    const mask = new tjs.Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]);
    const out = (await m.generate({ input_ids: input, attention_mask: mask, max_new_tokens: N, min_new_tokens: N, do_sample: false, eos_token_id: [] })) as { data: BigInt64Array };
    return Array.from(out.data, Number).slice(ids.length);
  } finally {
    await m.dispose();
  }
}

async function oursGreedy(steering?: Intervention[]): Promise<number[]> {
  const r = await model.generate(PROMPT, { temperature: 0, maxNewTokens: N, stopOnEos: false, ...(steering ? { steering } : {}) });
  return r.rows[0]!.ids;
}

/** Residual tensors at every site of the baked graph, for the prompt. */
async function residuals(dir: string, ids: readonly number[]): Promise<Float32Array[]> {
  const loaded = readModel(join(dir, 'onnx', 'model.onnx'));
  const graph = loaded.model.graph!;
  const produced = new Set(graph.node.flatMap((n) => n.output));
  const names = [...new Set(manifest.sites.map((s) => s.sourceTensor).filter((t) => produced.has(t)))];
  for (const n of names) graph.output.push(makeValueInfo(n, DataType.FLOAT, [1, 'seq', manifest.hiddenSize]));
  const probe = join(tmp.path, `${dir.split('/').at(-1)}-probe.onnx`);
  writeModel(loaded.model, probe, { sourceDir: loaded.dir, externalData: 'never' });
  const session = await ort.InferenceSession.create(probe, { intraOpNumThreads: 1 });
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of graph.input) {
    const name = input.name ?? '';
    if (name === 'input_ids') feeds[name] = new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
    else if (name === 'attention_mask') feeds[name] = new ort.Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]);
    else if (name === 'position_ids') feeds[name] = new ort.Tensor('int64', BigInt64Array.from(ids.map((_, i) => BigInt(i))), [1, ids.length]);
    else {
      const dims = (input.type?.tensorType?.shape?.dim ?? []).map((d, i) => (d.dimValue !== undefined ? Number(d.dimValue) : i === 0 ? 1 : 0));
      feeds[name] = new ort.Tensor('float32', new Float32Array(0), dims);
    }
  }
  const out = await session.run(feeds, names);
  await session.release();
  return names.map((n) => out[n]!.data as Float32Array);
}

describe('bake', () => {
  it('add: transformers.js on the baked model gives the greedy ids of generate with the same vector and strength', async () => {
    const dir = join(tmp.path, 'joy-add');
    const report = bakeModel(modelDir, dir, { vector: joy, strength: 4 });
    expect(report.added).toEqual(['blocks.0.hook_resid_post']);
    const ids = model.tokenizer.encode(PROMPT);
    const steered = await oursGreedy(joy.toPlan({ strength: 4 }));
    expect(steered).not.toEqual(await oursGreedy());
    expect(await transformersJsGreedy(dir, ids)).toEqual(steered);

    const graph = readModel(join(dir, 'onnx', 'model.onnx')).model.graph!;
    const io = [...graph.input, ...graph.output].map((v) => v.name ?? '');
    expect(io.filter((n) => n.includes('hook_'))).toEqual([]);
    expect(report.removedInputs).toBe(2 * manifest.sites.length);
    expect(report.removedOutputs).toBe(manifest.sites.length);
  });

  it('ablate: every residual has a projection on r below 1e-4·‖h‖, and greedy ids match runtime ablation at every site', async () => {
    const dir = join(tmp.path, 'joy-ablate');
    const report = bakeModel(modelDir, dir, { vector: joy, strength: 0, operator: 'ablate' });
    expect(report.orthogonalized.length).toBe(1 + 2 * manifest.numBlocks); // embedding, o_proj and down_proj per block
    const plain = join(tmp.path, 'plain');
    bakeModel(modelDir, plain, { vector: joy, strength: 0 });
    const d = joy.direction('blocks.0.hook_resid_post');
    const norm = Math.hypot(...d);
    const r = Float32Array.from(d, (x) => x / norm);
    const ids = model.tokenizer.encode(PROMPT);
    const worst = (hs: Float32Array[]) => Math.max(...hs.flatMap((h) => {
      const ratios: number[] = [];
      for (let p = 0; p < h.length / r.length; p++) {
        let dot = 0; let nn = 0;
        for (let j = 0; j < r.length; j++) { const x = h[p * r.length + j]!; dot += x * r[j]!; nn += x * x; }
        ratios.push(Math.abs(dot) / Math.sqrt(nn));
      }
      return ratios;
    }));
    const ablated = await residuals(dir, ids);
    expect(ablated.length).toBeGreaterThanOrEqual(1 + 2 * manifest.numBlocks);
    expect(worst(ablated)).toBeLessThan(1e-4);
    expect(worst(await residuals(plain, ids))).toBeGreaterThan(1e-2);

    const everySite: Intervention[] = manifest.sites.map((s) => ({ site: s.name, vector: r, strength: 1, operator: 'ablate' }));
    expect(await transformersJsGreedy(dir, ids)).toEqual(await oursGreedy(everySite));
  });

  it('refuses writers that are not plain initializers, writing nothing', () => {
    // the same graph with one attention output projection as a quantized MatMulNBits
    const src = readModel(join(modelDir, manifest.model));
    const node = src.model.graph!.node.find((n) => n.opType === 'MatMul' && (n.name ?? '').includes('o_proj'));
    expect(node).toBeDefined();
    node!.opType = 'MatMulNBits';
    node!.domain = 'com.microsoft';
    const q = join(tmp.path, 'quantized');
    writeModel(src.model, join(q, manifest.model), { sourceDir: src.dir, externalData: 'never' });
    copyFileSync(join(modelDir, 'hooks.json'), join(q, 'hooks.json'));
    const out = join(tmp.path, 'refused');
    expect(() => bakeModel(q, out, { vector: joy, strength: 0, operator: 'ablate' })).toThrow(UnsupportedArchitectureError);
    expect(() => bakeModel(q, out, { vector: joy, strength: 0, operator: 'ablate' })).toThrow(/MatMulNBits/);
    expect(existsSync(out)).toBe(false);
    // addition does not touch the writers, so it still bakes
    expect(bakeModel(q, out, { vector: joy, strength: 2 }).added).toEqual(['blocks.0.hook_resid_post']);
  });
});
