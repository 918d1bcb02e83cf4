/** Trained policies as A/B arms: samples from another model, KL to the reference by Monte Carlo from score(). */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAB } from '../../src/ab/harness.js';
import { parsePolicyArm } from '../../src/cli/commands/ab.js';
import { InvalidArgumentError, UsageError } from '../../src/errors.js';
import { parseReward } from '../../src/rewards/parse.js';
import { hookedModelDir } from '../../src/model/checkpoint-cache.js';
import { HookedModel } from '../../src/model/hooked-model.js';
import { parseUtility } from '../../src/utilities/parse.js';
import { loadDefault } from '../helpers/models.js';
import { hasShared, SHARED } from '../helpers/paths.js';

describe('parsePolicyArm', () => {
  it('reads name=dir and refuses anything else', () => {
    expect(parsePolicyArm('dpo=/m/dpo')).toEqual({ name: 'dpo', dir: '/m/dpo' });
    expect(() => parsePolicyArm('/m/dpo')).toThrow(UsageError);
    expect(() => parsePolicyArm('a b=/m')).toThrow(/names use letters/);
  });
});

describe.skipIf(!hasShared())('policy arms in runAB', () => {
  let base: HookedModel;
  let dpo: HookedModel;
  beforeAll(async () => {
    base = await loadDefault();
    dpo = await HookedModel.load(await hookedModelDir(join(SHARED, 'models', 'tinystories-656k-dpo-joy')), { intraOpNumThreads: 1 });
  }, 300_000);
  afterAll(async () => { await dpo?.dispose(); await base?.dispose(); });

  it('samples the policy, scores its draws under the reference and reports the Monte Carlo KL', async () => {
    const ctx = { model: base };
    const r = await runAB(base, {
      prompts: ['Tom had a red ball.', 'Mia and mom walked to the park.'], ns: [2], beta: 0,
      proxy: await parseReward('afinn', ctx), gold: await parseReward('vader', ctx), utility: parseUtility('hidden', { model: base }),
      policies: [{ name: 'dpo', model: dpo }], sampling: { maxNewTokens: 12, seed: 3 }, klResamples: 50, bootstrapResamples: 50,
    });
    const arm = r.arms.find((a) => a.arm.id === 'policy:dpo');
    expect(arm?.arm.kind).toBe('policy');
    expect(r.config.policies).toEqual([{ name: 'dpo', dir: dpo.dir }]);
    const pool = r.pools[0]?.find((p) => p.key === 'policy:dpo');
    const c = pool?.candidates[0];
    expect(c).toBeDefined();
    // log π_policy from generate() equals score() on the policy; log π_ref is the base model's score().
    const [onPolicy] = await dpo.score(pool!.prompt, [c!.ids]);
    const [onRef] = await base.score(pool!.prompt, [c!.ids]);
    expect(c!.steeredLogprob).toBeCloseTo(onPolicy!.logprob, 3);
    expect(c!.refLogprob).toBeCloseTo(onRef!.logprob, 5);
    const diffs = r.pools.flatMap((ps) => ps.find((p) => p.key === 'policy:dpo')!.candidates.map((x) => (x.steeredLogprob as number) - x.refLogprob));
    expect(arm?.kl.estimate).toBeCloseTo(diffs.reduce((a, b) => a + b, 0) / diffs.length, 8);
    expect(arm?.cost.generatedTokens).toBeGreaterThan(0);
    await expect(runAB(base, { prompts: ['x.'], ns: [1], beta: 0, proxy: await parseReward('afinn', ctx), gold: await parseReward('vader', ctx), utility: parseUtility('hidden', { model: base }), policies: [{ name: 'a', model: dpo }, { name: 'a', model: dpo }] })).rejects.toThrow(InvalidArgumentError);
  });
});
