/**
 * Fitted sessions on the default model: a recurring kind of step gets a graph
 * with exactly its hook operators and captures, and computes what the
 * covering sessions compute (bit for bit where the arithmetic is the same,
 * to float tolerance where a folded Sum adds in a different order).
 */
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../src/builder/index.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { FIT_AFTER } from '../../src/runtime/fitted.js';
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

function pass(runner: ModelRunner, hookFeeds?: Record<string, ort.Tensor>, captures?: string[]) {
  return runner.forward({ ids, batch: 1, seqLen: ids.length, cache: runner.emptyCache(1), ...(hookFeeds ? { hookFeeds } : {}), ...(captures ? { captures } : {}) });
}

/** Runs the same step until its key has a fitted session, and returns the last result. */
async function fittedPass(runner: ModelRunner, hookFeeds?: () => Record<string, ort.Tensor>, captures?: string[]) {
  let out = await pass(runner, hookFeeds?.(), captures);
  for (let i = 1; i <= FIT_AFTER; i++) out = await pass(runner, hookFeeds?.(), captures);
  return out;
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  expect(worst).toBeLessThanOrEqual(tol);
};

describe('fitted sessions', () => {
  let fitted: ModelRunner;
  let tiered: ModelRunner;
  let full: ModelRunner;
  let plain: ModelRunner;
  beforeAll(async () => {
    fitted = await ModelRunner.open(hookedDir, { ...opts, hookGraphs: 'fitted' });
    tiered = await ModelRunner.open(hookedDir, { ...opts, hookGraphs: 'tiered' });
    full = await ModelRunner.open(hookedDir, { ...opts, hookGraphs: 'full' });
    plain = await ModelRunner.open(plainDir, opts);
  });
  afterAll(async () => { for (const r of [fitted, tiered, full, plain]) await r.release(); });

  it('picks fitted sessions for the default model under auto, tiered above the weight budget', async () => {
    const auto = await ModelRunner.open(hookedDir, opts);
    const small = await ModelRunner.open(hookedDir, { ...opts, fittedMaxBytes: 1024 });
    expect(auto.policy).toBe('fitted');
    expect(small.policy).toBe('tiered');
    expect(fitted.policy).toBe('fitted');
    expect(full.policy).toBe('full');
    await auto.release();
    await small.release();
  });

  it('runs a step that uses no hooks on the unhooked graph, bit for bit, once it recurs', async () => {
    const first = await pass(fitted);
    expect(fitted.fittedSessions).toBe(0);
    const out = await fittedPass(fitted);
    expect(fitted.fittedSessions).toBe(1);
    expect(fitted.fittedFailure).toBeUndefined();
    const ref = await pass(plain);
    expect(Array.from(out.logits?.data ?? [])).toEqual(Array.from(ref.logits?.data ?? []));
    expect(Array.from(first.logits?.data ?? [])).toEqual(Array.from(ref.logits?.data ?? []));
  });

  it('steers and captures at the step\'s sites like the covering session', async () => {
    const H = fitted.manifest.hiddenSize;
    const post = fitted.site('blocks.0.hook_resid_post');
    const v = Float32Array.from({ length: H }, (_, i) => Math.cos(i) * 0.7);
    const feeds = () => ({ [post.steer]: new ort.Tensor('float32', v, [1, 1, H]) });
    const caps = ['blocks.1.hook_resid_pre', 'blocks.1.hook_resid_post'];
    const before = fitted.fittedSessions;
    const a = await fittedPass(fitted, feeds, caps);
    expect(fitted.fittedSessions).toBe(before + 1);
    const b = await pass(tiered, feeds(), caps);
    close(a.logits?.data ?? [], b.logits?.data ?? [], 1e-5);
    for (const c of caps) close(a.captures[c]?.data ?? [], b.captures[c]?.data ?? [], 1e-5);
    // The steering really happened: the unsteered logits differ.
    const unsteered = await pass(plain);
    expect(Math.max(...Array.from(a.logits?.data ?? []).map((x, i) => Math.abs(x - (unsteered.logits?.data[i] ?? 0))))).toBeGreaterThan(1e-3);
  });

  it('ablates at one site like the full graph, without opening it', async () => {
    const H = fitted.manifest.hiddenSize;
    const site = fitted.site('blocks.1.hook_resid_mid');
    const r = new Float32Array(H); r[3] = 1;
    const feeds = () => ({ [site.ablate]: new ort.Tensor('float32', r, [1, 1, H]) });
    const fresh = await ModelRunner.open(hookedDir, { ...opts, hookGraphs: 'fitted' });
    await fittedPass(fresh, feeds, [site.name]);
    // The first steps ran on the full graph (the key had not recurred); this one runs on the fitted session.
    const a = await pass(fresh, feeds(), [site.name]);
    const b = await pass(full, feeds(), [site.name]);
    expect(fresh.fittedSessions).toBe(1);
    close(a.logits?.data ?? [], b.logits?.data ?? [], 1e-5);
    expect(Math.abs(a.captures[site.name]?.data[3] ?? 1)).toBeLessThan(1e-5);
    await fresh.release();
  });

  it('keeps at most maxFittedSessions open', async () => {
    const one = await ModelRunner.open(hookedDir, { ...opts, hookGraphs: 'fitted', maxFittedSessions: 1 });
    await fittedPass(one);
    await fittedPass(one, undefined, ['blocks.0.hook_resid_post']);
    expect(one.fittedSessions).toBe(1);
    const out = await fittedPass(one);
    const ref = await pass(plain);
    expect(Array.from(out.logits?.data ?? [])).toEqual(Array.from(ref.logits?.data ?? []));
    expect(one.fittedSessions).toBe(1);
    await one.release();
  });

  it('rejects an unknown policy and a session count below one', async () => {
    await expect(ModelRunner.open(hookedDir, { hookGraphs: 'lean' as 'tiered' })).rejects.toThrow(InvalidArgumentError);
    await expect(ModelRunner.open(hookedDir, { hookGraphs: 'lean' as 'tiered' })).rejects.toThrow(/hookGraphs must be one of "auto", "fitted", "tiered", "full"/);
    await expect(ModelRunner.open(hookedDir, { maxFittedSessions: 0 })).rejects.toThrow(/maxFittedSessions must be a positive integer/);
  });
});
