/**
 * Optimum's merged decoder layout. There is no merged fixture in ../shared,
 * so the test builds one from the tiny Qwen2 torch export, as Optimum's
 * merge does: the outer graph keeps the inputs, outputs and weights and one
 * `If` on `use_cache_branch`; the then-branch is the export's graph (with a
 * cache), the else-branch a renamed copy that reads no past (each past input
 * is sliced to length 0 inside the branch). Both branches are real decoders.
 */
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { int64Tensor } from '../../src/onnx/attributes.js';
import { makeValueInfo } from '../../src/onnx/graph.js';
import { readModel, writeModel } from '../../src/onnx/io.js';
import { AttributeType, DataType, type GraphProto, type NodeProto } from '../../src/onnx/proto.js';
import { analyzeModel, instrumentModel, locateOnnx } from '../../src/instrument/index.js';
import { ModelRunner } from '../../src/runtime/runner.js';
import type * as ort from 'onnxruntime-node';
import { floatTensorOf } from '../../src/runtime/tensors.js';
import { FIXTURES, tempDir } from '../helpers/fixtures.js';

const SOURCE = join(FIXTURES, 'torch-tiny-random-Qwen2ForCausalLM');
let work: string;

function mergedDecoder(dir: string): void {
  const { model } = readModel(locateOnnx(SOURCE));
  const g = model.graph as GraphProto;
  const produced = new Set(g.node.flatMap((n) => n.output));
  const pasts = g.input.map((v) => v.name ?? '').filter((n) => n.startsWith('past_key_values.'));
  const rename = (t: string): string => (t && produced.has(t) ? `${t}::no_past` : pasts.includes(t) ? `${t}::empty` : t);
  const zero = (name: string, v: number): NodeProto => ({ opType: 'Constant', input: [], output: [name], name, attribute: [{ name: 'value', type: AttributeType.TENSOR, t: int64Tensor(name, [1], [v]) }] });
  const noPastNodes: NodeProto[] = [zero('np::zero', 0), zero('np::axis', 2)];
  for (const p of pasts) noPastNodes.push({ opType: 'Slice', input: [p, 'np::zero', 'np::zero', 'np::axis'], output: [`${p}::empty`], name: `${p}::slice`, attribute: [] });
  for (const n of g.node) noPastNodes.push({ ...n, name: `${n.name ?? ''}::no_past`, input: n.input.map(rename), output: n.output.map(rename) });
  const withPast: GraphProto = { name: 'with_past', node: g.node, input: [], output: g.output, initializer: [], valueInfo: g.valueInfo };
  const noPast: GraphProto = { name: 'no_past', node: noPastNodes, input: [], output: g.output.map((v) => ({ ...v, name: rename(v.name ?? '') })), initializer: [], valueInfo: [] };
  const cond = 'use_cache_branch';
  const ifNode: NodeProto = {
    opType: 'If', name: 'optimum::if', input: [cond], output: g.output.map((v) => v.name ?? ''),
    attribute: [{ name: 'then_branch', type: AttributeType.GRAPH, g: withPast }, { name: 'else_branch', type: AttributeType.GRAPH, g: noPast }],
  };
  model.graph = { name: 'merged', node: [ifNode], input: [...g.input, makeValueInfo(cond, DataType.BOOL, [1])], output: g.output.map((v) => ({ ...v })), initializer: g.initializer, valueInfo: [] };
  mkdirSync(dir, { recursive: true });
  writeModel(model, join(dir, 'decoder_model_merged.onnx'), { sourceDir: SOURCE });
  copyFileSync(join(SOURCE, 'config.json'), join(dir, 'config.json'));
}

function maxDiff(a: Float32Array | undefined, b: Float32Array | undefined): number {
  if (!a || !b || a.length !== b.length || a.length === 0) return Infinity;
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs((a[i] as number) - (b[i] as number)));
  return e;
}

describe('Optimum merged decoder (If on use_cache_branch)', () => {
  let merged: ModelRunner;
  let plain: ModelRunner;

  beforeAll(async () => {
    work = tempDir('merged');
    mergedDecoder(join(work, 'src'));
    await instrumentModel(join(work, 'src'), join(work, 'hooked'));
    await instrumentModel(SOURCE, join(work, 'plain'));
    merged = await ModelRunner.open(join(work, 'hooked'), { intraOpNumThreads: 1 });
    plain = await ModelRunner.open(join(work, 'plain'), { intraOpNumThreads: 1 });
  });
  afterAll(async () => {
    await merged?.release();
    await plain?.release();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('is analysed as a merged decoder with both branches hooked', () => {
    const report = analyzeModel(join(work, 'src'));
    expect(report.instrumentable).toBe(true);
    expect(report.architecture).toMatch(/Optimum merged decoder: If on use_cache_branch, both branches hooked/);
    expect(merged.manifest.inputs.useCacheBranch).toBe('use_cache_branch');
    expect(merged.manifest.sites.map((s) => s.name)).toEqual(plain.manifest.sites.map((s) => s.name));
  });

  it('prefill (else-branch) and a cached step (then-branch) match the plain export, unsteered and steered', async () => {
    const sites = merged.manifest.sites.map((s) => s.name);
    const H = merged.manifest.hiddenSize;
    const site = merged.manifest.sites.find((s) => s.name === 'blocks.0.hook_resid_post');
    if (!site) throw new Error('site missing');
    const vector = Float32Array.from({ length: H }, (_, i) => (i % 2 ? 3 : -2));
    for (const steer of [false, true]) {
      const feeds = (): Record<string, ort.Tensor> => (steer ? { [site.steer]: floatTensorOf('float32', vector, [1, 1, H]) } : {});
      const ids = [1, 2, 3, 4, 5];
      const run = async (r: ModelRunner) => {
        const pre = await r.forward({ ids, batch: 1, seqLen: ids.length, cache: r.emptyCache(1), captures: sites, hookFeeds: feeds() });
        const step = await r.forward({ ids: [6], batch: 1, seqLen: 1, cache: pre.cache, captures: sites, hookFeeds: feeds() });
        return { pre, step };
      };
      const a = await run(merged);
      const b = await run(plain);
      expect(maxDiff(a.pre.logits?.data, b.pre.logits?.data)).toBeLessThanOrEqual(1e-5);
      expect(maxDiff(a.step.logits?.data, b.step.logits?.data)).toBeLessThanOrEqual(1e-5);
      for (const s of sites) {
        expect(maxDiff(a.pre.captures[s]?.data, b.pre.captures[s]?.data)).toBeLessThanOrEqual(1e-5);
        expect(maxDiff(a.step.captures[s]?.data, b.step.captures[s]?.data)).toBeLessThanOrEqual(1e-5);
      }
      if (steer) {
        const unsteered = await merged.forward({ ids: [1, 2, 3, 4, 5], batch: 1, seqLen: 5, cache: merged.emptyCache(1) });
        expect(maxDiff(a.pre.logits?.data, unsteered.logits?.data)).toBeGreaterThan(1e-3);
      }
    }
  });
});
