/** One model, two routes: the safetensors build and the instrumented torch export of TinyStories-656K agree. */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { instrumentModel } from '../../src/instrument/index.js';
import { HookedModel } from '../../src/model/hooked-model.js';
import { FIXTURES, tempDir } from '../helpers/paths.js';
import { defaultDir } from '../helpers/models.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('built and instrumented routes', () => {
  it('give the same residuals, logits and greedy ids', async () => {
    const dir = join(tmp.path, 'torch');
    await instrumentModel(join(FIXTURES, 'torch-legacy-tinystories-656k'), dir);
    const built = await HookedModel.load(await defaultDir(), { intraOpNumThreads: 1 });
    const inst = await HookedModel.load(dir, { intraOpNumThreads: 1 });
    try {
      const ids = built.encode('Once upon a time, there was a little girl named Lily. She loved to play outside.');
      const sites = built.sites;
      expect(inst.sites).toEqual(sites);
      const [a] = await built.capture([ids], sites, { positions: 'all' });
      const [b] = await inst.capture([ids], sites, { positions: 'all' });
      for (const site of sites) {
        const x = a![site]!.data;
        const y = b![site]!.data;
        let err = 0; let scale = 0;
        x.forEach((v, i) => { err = Math.max(err, Math.abs(v - y[i]!)); scale = Math.max(scale, Math.abs(v)); });
        expect(err / scale).toBeLessThan(1e-5);
      }
      const la = await built.runner.forward({ ids, batch: 1, seqLen: ids.length, cache: built.runner.emptyCache(1) });
      const lb = await inst.runner.forward({ ids, batch: 1, seqLen: ids.length, cache: inst.runner.emptyCache(1) });
      let diff = 0;
      la.logits!.data.forEach((v, i) => { diff = Math.max(diff, Math.abs(v - lb.logits!.data[i]!)); });
      expect(diff).toBeLessThan(1e-4);
      const ga = await built.generate([1], { temperature: 0, maxNewTokens: 60 });
      const gb = await inst.generate([1], { temperature: 0, maxNewTokens: 60 });
      expect(gb.rows[0]!.ids).toEqual(ga.rows[0]!.ids);
    } finally {
      await built.dispose();
      await inst.dispose();
    }
  });
});
