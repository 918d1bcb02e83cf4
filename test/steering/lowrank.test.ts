/**
 * The low-rank representation map h' = h + α·(h·V)·Uᵀ in built, instrumented
 * and load-time graphs: against float64 arithmetic, exactly the unsteered
 * result when unfed, and the refusals.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../src/builder/index.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { Rng } from '../../src/math/rng.js';
import { instrumentModel } from '../../src/instrument/index.js';
import { HookedModel } from '../../src/model/hooked-model.js';
import type { Intervention, LowRankMap } from '../../src/steering/plan.js';
import { defaultDir } from '../helpers/models.js';
import { FIXTURES, SHARED, tempDir } from '../helpers/paths.js';

const H = 128;
const TEXTS = ['Once upon a time, there was a little boy named Tom. He had a red ball.', 'The dog was sad.'];
const work = tempDir('lowrank-');
let plain: HookedModel;
let built: HookedModel;
let loaded: HookedModel;
let instrumented: HookedModel;

beforeAll(async () => {
  const dir = await defaultDir();
  plain = await HookedModel.load(dir, { intraOpNumThreads: 1 });
  loaded = await HookedModel.load(dir, { intraOpNumThreads: 1, lowRank: true });
  await buildModel(join(SHARED, 'models', 'tinystories-656k'), join(work.path, 'built'), { lowRank: true, sites: ['hook_resid_post', 'blocks.1.hook_resid_mid'] });
  built = await HookedModel.load(join(work.path, 'built'), { intraOpNumThreads: 1 });
  await instrumentModel(join(FIXTURES, 'torch-legacy-tinystories-656k'), join(work.path, 'instrumented'), { lowRank: true });
  instrumented = await HookedModel.load(join(work.path, 'instrumented'), { intraOpNumThreads: 1 });
}, 300_000);
afterAll(async () => {
  await Promise.all([plain, built, loaded, instrumented].map((m) => m?.dispose()));
  work.cleanup();
});

function randomMap(rank: number, seed: number, scale: number): LowRankMap {
  const rng = new Rng(seed);
  const draw = () => Float32Array.from({ length: H * rank }, () => (rng.next() * 2 - 1) * scale);
  return { rank, v: draw(), u: draw() };
}

/** h + α·(h·V)·Uᵀ in float64, for rows of h ([len, H]). */
function reference(h: Float32Array, len: number, m: LowRankMap, alpha: number, bias?: Float32Array): Float64Array {
  const out = new Float64Array(len * H);
  for (let t = 0; t < len; t++) {
    const hv = new Float64Array(m.rank);
    for (let c = 0; c < m.rank; c++) { let s = 0; for (let i = 0; i < H; i++) s += h[t * H + i]! * m.v[i * m.rank + c]!; hv[c] = s; }
    for (let j = 0; j < H; j++) {
      let s = 0;
      for (let c = 0; c < m.rank; c++) s += hv[c]! * m.u[j * m.rank + c]!;
      out[t * H + j] = h[t * H + j]! + alpha * (s + (bias?.[j] ?? 0));
    }
  }
  return out;
}

describe('low-rank map operator', () => {
  it('equals h + α(hV)Uᵀ computed in float64, in built, instrumented and load-time graphs', async () => {
    const cases: [string, HookedModel, string][] = [
      ['built', built, 'blocks.1.hook_resid_mid'],
      ['loaded', loaded, 'blocks.0.hook_resid_post'],
      ['instrumented', instrumented, 'blocks.1.hook_resid_post'],
    ];
    for (const [label, model, site] of cases) {
      for (const [rank, alpha] of [[1, 1], [4, 2.5], [16, -0.7]] as const) {
        const map = randomMap(rank, rank * 7, 0.2);
        const bias = rank === 4 ? Float32Array.from({ length: H }, (_, i) => Math.sin(i)) : new Float32Array(H);
        const plan: Intervention[] = [{ site, vector: bias, strength: alpha, lowRank: map }];
        const h = await model.capture(TEXTS, [site], { positions: 'all' });
        const steered = await model.capture(TEXTS, [site], { positions: 'all', steering: plan });
        let maxErr = 0;
        let maxTerm = 0;
        TEXTS.forEach((_, i) => {
          const x = h[i]![site]!;
          const len = x.dims[0]!;
          const ref = reference(x.data, len, map, alpha, bias);
          const got = steered[i]![site]!.data;
          for (let k = 0; k < len * H; k++) {
            // float32 output: the error is measured relative to the value (|h'| reaches a few hundred here).
            maxErr = Math.max(maxErr, Math.abs(got[k]! - ref[k]!) / Math.max(1, Math.abs(ref[k]!)));
            maxTerm = Math.max(maxTerm, Math.abs(ref[k]! - x.data[k]!));
          }
        });
        expect(maxTerm, `${label} rank ${rank}: the term must matter`).toBeGreaterThan(0.5);
        expect(maxErr, `${label} rank ${rank}`).toBeLessThan(1e-5);
      }
    }
  });

  it('unfed, the graph computes exactly the unsteered result (logits, captures, generation)', async () => {
    const site = 'blocks.0.hook_resid_post';
    for (const model of [built, loaded]) {
      const a = await plain.capture(TEXTS, [site], { positions: 'all' });
      const b = await model.capture(TEXTS, [site], { positions: 'all' });
      expect(Array.from(b[0]![site]!.data)).toEqual(Array.from(a[0]![site]!.data));
      const sa = await plain.score(TEXTS[0]!, [' He was happy.']);
      const sb = await model.score(TEXTS[0]!, [' He was happy.']);
      expect(sb[0]!.tokenLogprobs).toEqual(sa[0]!.tokenLogprobs);
      // A plan without a map on a low-rank graph equals the same plan on a plain graph.
      const add: Intervention[] = [{ site, vector: Float32Array.from({ length: H }, (_, i) => Math.cos(i)), strength: 3 }];
      const ga = await plain.generate(TEXTS[1]!, { temperature: 0, maxNewTokens: 24, steering: add });
      const gb = await model.generate(TEXTS[1]!, { temperature: 0, maxNewTokens: 24, steering: add });
      expect(gb.rows[0]!.ids).toEqual(ga.rows[0]!.ids);
      expect(gb.rows[0]!.logprobs).toEqual(ga.rows[0]!.logprobs);
    }
  });

  it('steers decoding under the KV cache the same way in built and load-time graphs, per position', async () => {
    const site = 'blocks.0.hook_resid_post';
    const map = randomMap(8, 3, 0.3);
    const plan: Intervention[] = [{ site, vector: new Float32Array(H), strength: 1.5, lowRank: map, positions: 'generated' }];
    const opts = { temperature: 0, maxNewTokens: 24, stopOnEos: false };
    const a = await built.generate(TEXTS[0]!, { ...opts, steering: plan });
    const b = await loaded.generate(TEXTS[0]!, { ...opts, steering: plan });
    const base = await plain.generate(TEXTS[0]!, opts);
    expect(a.rows[0]!.ids).toEqual(b.rows[0]!.ids);
    expect(a.rows[0]!.ids).not.toEqual(base.rows[0]!.ids);
    // Per-row plans: row 0 steered, row 1 not.
    const rows = await loaded.generate(TEXTS[0]!, { ...opts, n: 2, steering: { rows: [plan, null] } });
    expect(rows.rows[0]!.ids).toEqual(b.rows[0]!.ids);
    expect(rows.rows[1]!.ids).toEqual(base.rows[0]!.ids);
  });

  it('refuses rank ≥ hidden, wrong sizes, two maps at one site, and graphs without the inputs', async () => {
    const site = 'blocks.0.hook_resid_post';
    const bad = (lowRank: LowRankMap) => loaded.capture(TEXTS, [site], { steering: [{ site, vector: new Float32Array(H), lowRank }] });
    await expect(bad({ rank: H, v: new Float32Array(H * H), u: new Float32Array(H * H) })).rejects.toThrow(/rank must be an integer in \[1, 127\]/);
    await expect(bad({ rank: 2, v: new Float32Array(H), u: new Float32Array(2 * H) })).rejects.toThrow(InvalidArgumentError);
    const m = randomMap(2, 1, 0.01);
    await expect(loaded.capture(TEXTS, [site], { steering: [{ site, vector: new Float32Array(H), lowRank: m }, { site, vector: new Float32Array(H), lowRank: m }] })).rejects.toThrow(/one low-rank map per site/);
    await expect(plain.capture(TEXTS, [site], { steering: [{ site, vector: new Float32Array(H), lowRank: m }] })).rejects.toThrow(/--low-rank/);
  });
});
