/**
 * Session graphs specialised to the operators a step needs: with no kinds the
 * graph is the unhooked one (same node count, bit-identical logits), the lean
 * steering graph steers exactly like the file's full graph, and a tiered
 * runner opens the full graph only when a step ablates.
 */
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../src/builder/index.js';
import { specializeHooks } from '../../src/hooks/specialize.js';
import { readManifest } from '../../src/hooks/manifest.js';
import { readModel } from '../../src/onnx/io.js';
import { ModelRunner } from '../../src/runtime/runner.js';
import { defaultDir } from '../helpers/models.js';
import { TINYSTORIES, tempDir } from '../helpers/paths.js';

const tmp = tempDir();
let hookedDir: string;
let plainDir: string;
beforeAll(async () => {
  hookedDir = await defaultDir();
  plainDir = join(tmp.path, 'plain');
  await buildModel(TINYSTORIES, plainDir, { sites: [] });
}, 300_000);
afterAll(() => tmp.cleanup());

const ids = [1, 432, 88, 1024, 7, 300];
const opts = { intraOpNumThreads: 1 };

async function logitsOf(runner: ModelRunner, hookFeeds?: Record<string, ort.Tensor>, captures?: string[]) {
  const out = await runner.forward({ ids, batch: 1, seqLen: ids.length, cache: runner.emptyCache(1), ...(hookFeeds ? { hookFeeds } : {}), ...(captures ? { captures } : {}) });
  return out;
}

describe('specializeHooks', () => {
  it('with no kinds leaves exactly the unhooked graph', () => {
    const m = readManifest(hookedDir);
    const { model } = readModel(join(hookedDir, m.model));
    const kept = specializeHooks(model, m.sites, { dtype: m.dtype, kinds: new Set() });
    expect(kept.every((k) => k.kinds.length === 0)).toBe(true);
    const plain = readModel(join(plainDir, 'model.onnx')).model;
    const ops = (g: typeof model) => (g.graph?.node ?? []).map((n) => n.opType).sort();
    expect(ops(model)).toEqual(ops(plain));
    expect(model.graph?.output.map((o) => o.name)).toEqual(plain.graph?.output.map((o) => o.name));
    expect(model.graph?.input.map((o) => o.name)).toEqual(plain.graph?.input.map((o) => o.name));
  });

  it('folds steering into the residual adds: one Sum per folded site, no ablation nodes', () => {
    const m = readManifest(hookedDir);
    const { model } = readModel(join(hookedDir, m.model));
    const before = model.graph?.node.length ?? 0;
    specializeHooks(model, m.sites, { dtype: m.dtype, kinds: new Set(['steer']) });
    const nodes = model.graph?.node ?? [];
    expect(nodes.filter((n) => n.opType === 'ReduceSum')).toHaveLength(0);
    // mid and post sites fold into their residual Add; pre sites keep one Add each.
    const folded = m.sites.filter((s) => !s.name.endsWith('hook_resid_pre')).length;
    expect(nodes.filter((n) => n.opType === 'Sum')).toHaveLength(folded);
    const plainNodes = readModel(join(plainDir, 'model.onnx')).model.graph?.node.length ?? 0;
    expect(nodes.length).toBe(plainNodes + (m.sites.length - folded));
    expect(nodes.length).toBeLessThan(before);
  });
});

describe('tiered runner', () => {
  let tiered: ModelRunner;
  let full: ModelRunner;
  let plain: ModelRunner;
  beforeAll(async () => {
    tiered = await ModelRunner.open(hookedDir, { ...opts, hookGraphs: 'tiered' });
    full = await ModelRunner.open(hookedDir, { ...opts, hookGraphs: 'full' });
    plain = await ModelRunner.open(plainDir, opts);
  });
  afterAll(async () => { await tiered.release(); await full.release(); await plain.release(); });

  it('computes the unhooked logits exactly when nothing is fed', async () => {
    const a = await logitsOf(tiered);
    const b = await logitsOf(plain);
    expect(Array.from(a.logits?.data ?? [])).toEqual(Array.from(b.logits?.data ?? []));
    expect(tiered.fullGraphOpen).toBe(false);
  });

  it('steers and captures like the full graph, per row, without opening it', async () => {
    const H = tiered.manifest.hiddenSize;
    const site = tiered.site('blocks.0.hook_resid_post');
    const pre = tiered.site('blocks.1.hook_resid_pre');
    const v = Float32Array.from({ length: H }, (_, i) => Math.sin(i) * 0.5);
    const feeds = () => ({ [site.steer]: new ort.Tensor('float32', v, [1, 1, H]), [pre.steer]: new ort.Tensor('float32', v.map((x) => -x / 2), [1, 1, H]) });
    const caps = ['blocks.0.hook_resid_post', 'blocks.1.hook_resid_pre'];
    const a = await logitsOf(tiered, feeds(), caps);
    const b = await logitsOf(full, feeds(), caps);
    expect(Array.from(a.logits?.data ?? [])).toEqual(Array.from(b.logits?.data ?? []));
    for (const c of caps) expect(Array.from(a.captures[c]?.data ?? [])).toEqual(Array.from(b.captures[c]?.data ?? []));
    expect(tiered.fullGraphOpen).toBe(false);
  });

  it('opens the full graph for an ablating step and matches it', async () => {
    const H = tiered.manifest.hiddenSize;
    const site = tiered.site('blocks.1.hook_resid_mid');
    const r = new Float32Array(H); r[3] = 1;
    const feeds = () => ({ [site.ablate]: new ort.Tensor('float32', r, [1, 1, H]) });
    const a = await logitsOf(tiered, feeds(), [site.name]);
    const b = await logitsOf(full, feeds(), [site.name]);
    expect(tiered.fullGraphOpen).toBe(true);
    expect(Array.from(a.logits?.data ?? [])).toEqual(Array.from(b.logits?.data ?? []));
    expect(Math.abs(a.captures[site.name]?.data[3] ?? 1)).toBeLessThan(1e-5);
  });
});
