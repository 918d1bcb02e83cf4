/**
 * Runtime contract over every decoder fixture: generation through the KV
 * cache (whatever its layout) picks the same greedy tokens as cache-free
 * forward passes over the whole sequence, and steering reaches the output.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { instrumentModel } from '../../src/instrument/index.js';
import { ModelRunner } from '../../src/runtime/runner.js';
import { generate } from '../../src/generation/generate.js';
import { HookedModel } from '../../src/model/hooked-model.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { CompiledPlan } from '../../src/steering/compile.js';
import { DECODERS, REFERENCE, tempDir } from '../helpers/fixtures.js';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const out = tempDir('layouts');
afterAll(() => rmSync(out, { recursive: true, force: true }));
const idsOnly = { decode: (ids: readonly number[]) => ids.join(' '), eosIds: [] as number[] };

function argmaxAt(data: Float32Array, offset: number, V: number): number {
  let best = 0;
  for (let i = 1; i < V; i++) if (data[offset + i]! > data[offset + best]!) best = i;
  return best;
}

describe('generation on every instrumented decoder', () => {
  for (const f of DECODERS) {
    it(`${f.id}: cached greedy decoding agrees with cache-free forward passes`, async () => {
      const dir = join(out, f.id);
      await instrumentModel(f.input, dir);
      const runner = await ModelRunner.open(dir, { intraOpNumThreads: 1 });
      try {
        const prompt = [3, 7, 11, 5];
        if (f.output === 'lastHidden') {
          await expect(generate(runner, idsOnly, prompt, { maxNewTokens: 2 })).rejects.toThrow(InvalidArgumentError);
          return;
        }
        const res = await generate(runner, idsOnly, prompt, { temperature: 0, maxNewTokens: 6, stopOnEos: false });
        const ids = [...prompt, ...res.rows[0]!.ids];
        expect(res.rows[0]!.ids.length).toBe(6);
        // Dynamically quantized graphs quantize activations per run (scales depend on the tokens in
        // the run), so they are compared on the first token, from a pass over the prompt alone.
        const checked = f.dynamicQuant ? 1 : 6;
        const upto = f.dynamicQuant ? prompt.length : ids.length - 1;
        const full = await runner.forward({ ids: ids.slice(0, upto), batch: 1, seqLen: upto, cache: runner.emptyCache(1) });
        const V = full.logits!.dims[2]!;
        for (let t = 0; t < checked; t++) {
          expect(argmaxAt(full.logits!.data, (prompt.length - 1 + t) * V, V)).toBe(ids[prompt.length + t]);
        }
        // Steering at the last block reaches the logits through the runtime.
        const site = `blocks.${f.numBlocks - 1}.hook_resid_post`;
        const vec = Float32Array.from({ length: f.hiddenSize }, (_, i) => (i % 3 === 0 ? 8 : -5));
        const plain = await runner.forward({ ids: prompt, batch: 1, seqLen: prompt.length, cache: runner.emptyCache(1) });
        const feeds = new CompiledPlan([{ site, vector: vec }], runner.manifest.sites, f.hiddenSize, f.dtype).feeds({ starts: [0], promptLengths: [4], seqLen: 4 });
        const withVec = await runner.forward({ ids: prompt, batch: 1, seqLen: prompt.length, cache: runner.emptyCache(1), hookFeeds: feeds });
        let moved = 0;
        for (let i = 0; i < withVec.logits!.data.length; i++) moved = Math.max(moved, Math.abs(withVec.logits!.data[i]! - plain.logits!.data[i]!));
        expect(moved).toBeGreaterThan(1e-3);
      } finally {
        await runner.release();
      }
    });
  }

  it('reproduces the reference greedy ids through the instrumented torch export', async () => {
    const ref = JSON.parse(readFileSync(join(REFERENCE, 'tinystories-656k.transformers-reference.json'), 'utf8')) as { greedy: Record<string, { prompt_ids: number[]; ids: number[] }> };
    const dir = join(out, 'torch-legacy-route');
    if (!existsSync(dir)) await instrumentModel(DECODERS[0]!.input, dir);
    const model = await HookedModel.load(dir);
    try {
      for (const g of Object.values(ref.greedy)) {
        const expected = g.ids.slice(g.prompt_ids.length);
        const res = await model.generate(g.prompt_ids, { temperature: 0, maxNewTokens: expected.length });
        expect(res.rows[0]!.ids).toEqual(expected);
      }
    } finally {
      await model.dispose();
    }
  });
});
