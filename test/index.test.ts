/**
 * The package entry alone is enough for the whole pipeline: this file imports
 * nothing but src/index.ts (the module `dist/index.js` is built from; the
 * build is not part of `npm test`). It opens the default model, runs
 * Best-of-N, registers a selector and runs a small A/B with it as an arm.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import {
  HookedModel, SteeringVector, defaultModelDir, needs, parseReward, parseUtility, registerSelector, runAB, runBestOfN, selectorNames, shippedDir, type Selection,
} from '../src/index.js';

function shortest(lengths: ArrayLike<number>): Selection {
  const objective = Float64Array.from(lengths, (l) => -l);
  let index = 0;
  for (let i = 1; i < objective.length; i++) if ((objective[i] as number) > (objective[index] as number)) index = i;
  return { index, objective };
}

let model: HookedModel;

beforeAll(async () => {
  model = await HookedModel.load(await defaultModelDir(), { intraOpNumThreads: 1 });
}, 300_000);

afterAll(async () => {
  await model.dispose();
});

describe('the package entry', () => {
  it('keeps internals internal', () => {
    for (const name of ['ModelRunner', 'readContrast', 'encodePair', 'encodePairs', 'fitFolds']) expect(name in api, name).toBe(false);
  });

  it('runs Best-of-N', async () => {
    const r = await runBestOfN(model, 'Once upon a time ', {
      n: 3, method: 'mbr-bon', beta: 1, reward: await parseReward('afinn'), utility: parseUtility('hidden', { model }), sampling: { maxNewTokens: 8, seed: 1 },
    });
    expect(r.candidates).toHaveLength(3);
    const best = r.candidates.reduce((a, b) => ((b.objective ?? -Infinity) > (a.objective ?? -Infinity) ? b : a));
    expect(r.chosen).toBe(best.index);
  });

  it('runs a small A/B with a steering vector and a selector registered through the entry', async () => {
    registerSelector({ name: 'entry-shortest', description: 'argmin |y|', needs: needs('lengths'), select: (input) => shortest(input.lengths ?? []) });
    expect(selectorNames()).toContain('entry-shortest');
    const vector = SteeringVector.load(join(shippedDir(), 'joy.json'), { model });
    const r = await runAB(model, {
      prompts: ['Finn had a green toy truck. '], vector, strengths: [1], ns: [2], beta: 0.5, selectors: ['bon', 'entry-shortest'],
      proxy: await parseReward('afinn'), gold: await parseReward('vader'), utility: parseUtility('hidden', { model }),
      sampling: { maxNewTokens: 8, seed: 2 }, klResamples: 50, bootstrapResamples: 50,
    });
    expect(r.arms.map((a) => a.arm.id)).toEqual(['baseline', 'steer@1', 'bon(2)', 'entry-shortest(2)', 'steer@1+mbr-bon(2, β=0.5)']);
    expect(r.config.selectors).toEqual(['bon', 'entry-shortest']);
  });

  it('draws through the backend API: the local backend gives what the model gives', async () => {
    const o = { n: 2, method: 'bon' as const, reward: await parseReward('afinn'), sampling: { maxNewTokens: 4, seed: 1 } };
    const viaBackend = await runBestOfN(api.localBackend(model), 'Once upon a time ', o);
    const direct = await runBestOfN(model, 'Once upon a time ', o);
    expect(viaBackend.candidates.map((c) => c.text)).toEqual(direct.candidates.map((c) => c.text));
    expect(typeof api.openaiBackend).toBe('function');
    expect(new api.BackendCapabilityError('scoring', 'x').code).toBe('BACKEND_UNSUPPORTED');
  });
});
