/** The norm-preserving gate: built and instrumented models, fp32 and fp16. */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../src/builder/index.js';
import { instrumentModel } from '../../src/instrument/index.js';
import { ModelRunner } from '../../src/runtime/runner.js';
import { CompiledPlan } from '../../src/steering/compile.js';
import { InvalidArgumentError } from '../../src/errors.js';
import type { Intervention } from '../../src/steering/plan.js';
import { FIXTURES, TINYSTORIES, tempDir } from '../helpers/paths.js';
import { defaultDir } from '../helpers/models.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

function rowNorms(data: Float32Array, H: number): number[] {
  const out: number[] = [];
  for (let t = 0; t < data.length / H; t++) {
    let s = 0;
    for (let h = 0; h < H; h++) s += data[t * H + h]! ** 2;
    out.push(Math.sqrt(s));
  }
  return out;
}

async function checkGate(dir: string, site: string, tol: number): Promise<void> {
  const runner = await ModelRunner.open(dir, { intraOpNumThreads: 1 });
  try {
    const m = runner.manifest;
    expect(m.sites.every((s) => typeof s.renorm === 'string')).toBe(true);
    const H = m.hiddenSize;
    const ids = [1, 5, 9, 13, 4];
    const base = Float32Array.from({ length: H }, (_, i) => (i % 2 ? 3 : -2));
    const feeds = (plan: Intervention[]) => new CompiledPlan(plan, m.sites, H, m.dtype).feeds({ starts: [0], promptLengths: [ids.length], seqLen: ids.length });
    const run = (plan: Intervention[]) => runner.forward({ ids, batch: 1, seqLen: ids.length, cache: runner.emptyCache(1), captures: [site], hookFeeds: feeds(plan) });
    const plain = await run([]);
    const n0 = rowNorms(plain.captures[site]!.data, H);
    // A vector half as long as the typical residual at this site.
    const scale = (0.5 * n0.reduce((a, b) => a + b, 0)) / n0.length / Math.sqrt(base.reduce((a, b) => a + b * b, 0));
    const vector = base.map((x) => x * scale);
    const added = await run([{ site, vector, strength: 1 }]);
    const kept = await run([{ site, vector, strength: 1, normPreserving: true }]);
    const n1 = rowNorms(added.captures[site]!.data, H);
    const n2 = rowNorms(kept.captures[site]!.data, H);
    // Plain addition changes the norms; the gate keeps every position's norm.
    expect(Math.max(...n0.map((n, t) => Math.abs(n1[t]! - n) / n))).toBeGreaterThan(tol * 10);
    n0.forEach((n, t) => expect(Math.abs(n2[t]! - n) / n).toBeLessThan(tol));
    // Still steered: the direction moved.
    let moved = 0;
    plain.captures[site]!.data.forEach((x, i) => { moved = Math.max(moved, Math.abs(kept.captures[site]!.data[i]! - x)); });
    expect(moved / Math.max(...n0)).toBeGreaterThan(0.05);
  } finally {
    await runner.release();
  }
}

describe('norm-preserving steering', () => {
  let built: string;
  beforeAll(async () => {
    built = join(tmp.path, 'built');
    await buildModel(TINYSTORIES, built, { normPreserving: true });
  }, 120_000);

  it('keeps the residual norm on a built model and changes nothing when unused', async () => {
    await checkGate(built, 'blocks.0.hook_resid_post', 1e-5);
    const plainRunner = await ModelRunner.open(await defaultDir(), { intraOpNumThreads: 1 });
    const gated = await ModelRunner.open(built, { intraOpNumThreads: 1 });
    const ids = [1, 80, 147, 201, 282, 57];
    const a = await plainRunner.forward({ ids, batch: 1, seqLen: ids.length, cache: plainRunner.emptyCache(1) });
    const b = await gated.forward({ ids, batch: 1, seqLen: ids.length, cache: gated.emptyCache(1) });
    let diff = 0;
    a.logits!.data.forEach((x, i) => { diff = Math.max(diff, Math.abs(b.logits!.data[i]! - x)); });
    expect(diff).toBeLessThan(1e-5);
    await plainRunner.release();
    await gated.release();
  });

  it('works on instrumented exports, fp32 and fp16', async () => {
    const torch = join(tmp.path, 'torch');
    await instrumentModel(join(FIXTURES, 'torch-legacy-tinystories-656k'), torch, { normPreserving: true });
    await checkGate(torch, 'blocks.1.hook_resid_mid', 1e-5);
    const fp16 = join(tmp.path, 'fp16');
    await instrumentModel(join(FIXTURES, 'ortgenai-mb-tiny-llama-fp16'), fp16, { normPreserving: true });
    await checkGate(fp16, 'blocks.0.hook_resid_post', 2e-3);
  });

  it('is refused on a model without the gate', async () => {
    const runner = await ModelRunner.open(await defaultDir());
    try {
      const v = new Float32Array(128).fill(1);
      expect(() => new CompiledPlan([{ site: 'blocks.0.hook_resid_post', vector: v, normPreserving: true }], runner.manifest.sites, 128, 'float32')).toThrow(InvalidArgumentError);
    } finally {
      await runner.release();
    }
  });
});
