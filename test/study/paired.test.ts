/**
 * Paired evaluation on the default model: the first N rows of a pool of N_max
 * are the pool a run with n = N draws, and selectors on that sub-pool (rewards,
 * log-probs and the sub-matrix of the N_max utility) agree with selectors run
 * on the small pool alone (everything computed afresh). Tiny: N_max = 8, two
 * prompts, two seeds, 8 new tokens.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectFromPool } from '../../src/ab/pool-selection.js';
import { vectorProbeLoader } from '../../src/ab/vector-probe.js';
import { parseReward } from '../../src/rewards/parse.js';
import type { Reward } from '../../src/rewards/types.js';
import type { HookedModel } from '../../src/model/hooked-model.js';
import { drawLadderPool, poolFor, type LadderPool } from '../../src/study/pools.js';
import { parseUtility } from '../../src/utilities/parse.js';
import type { Utility } from '../../src/utilities/types.js';
import { SteeringVector } from '../../src/vectors/vector.js';
import { loadDefault } from '../helpers/models.js';
import { REPO } from '../helpers/paths.js';

const PROMPTS = ['Finn had a green toy truck. ', 'One day, Ruby dropped her ice cream on the ground. '];
const SEEDS = [0, 7];
const PROBE = join(REPO, 'vectors', 'tinystories-656k', 'joy-probe-8.json');

let model: HookedModel;
let rewards: Reward[];
let utility: Utility;
let steering: ReturnType<SteeringVector['toPlan']>;

beforeAll(async () => {
  model = await loadDefault();
  const ctx = { model, loadVector: vectorProbeLoader(model) };
  rewards = [await parseReward('vader'), await parseReward('afinn'), await parseReward(`probe:${PROBE}`, ctx), await parseReward('length:tokens')];
  utility = parseUtility('hidden', { model });
  steering = SteeringVector.load(join(REPO, 'vectors', 'tinystories-656k', 'joy.json'), { model }).toPlan({ strength: 1 });
}, 120_000);

afterAll(async () => { await model.dispose(); });

const draw = (prompt: string, n: number, seed: number, steered: boolean): Promise<LadderPool> =>
  drawLadderPool(model, prompt, { n, sampling: { seed, maxNewTokens: 8 }, rewards, utility, ...(steered ? { steering } : {}) });

describe('nested pools', () => {
  it('the N = 4 pool is the prefix of the N = 8 pool, and sub-pool selection equals fresh selection, for every prompt, seed and policy', async () => {
    let checked = 0;
    for (const steered of [false, true]) {
      for (const prompt of PROMPTS) {
        for (const seed of SEEDS) {
          const big = await draw(prompt, 8, seed, steered);
          const small = await draw(prompt, 4, seed, steered);
          // subset: the same token sequences (and seeds) in the same rows
          expect(small.pool.candidates.map((c) => c.ids)).toEqual(big.pool.candidates.slice(0, 4).map((c) => c.ids));
          expect(small.pool.candidates.map((c) => c.seed)).toEqual(big.pool.candidates.slice(0, 4).map((c) => c.seed));
          for (const [spec, values] of Object.entries(small.rewards)) {
            values.forEach((v, i) => expect(v).toBeCloseTo(big.rewards[spec]?.[i] as number, 4));
          }
          small.pool.candidates.forEach((c, i) => expect(c.refLogprob).toBeCloseTo(big.pool.candidates[i]?.refLogprob as number, 3));
          for (const proxy of ['afinn', `probe:${PROBE}`, 'length:tokens']) {
            const sub = poolFor(big, proxy, 'vader');
            const fresh = poolFor(small, proxy, 'vader');
            for (const [method, beta] of [['bon', undefined], ['mbr-bon', 30], ['kl-bon', 0.05]] as const) {
              const a = selectFromPool(sub, { method, n: 4, needGold: true, ...(beta !== undefined ? { beta } : {}) });
              const b = selectFromPool(fresh, { method, n: 4, needGold: true, ...(beta !== undefined ? { beta } : {}) });
              expect(a.subset).toEqual([0, 1, 2, 3]);
              expect(a.chosen).toBe(b.chosen);
              a.objective.forEach((v, i) => expect(v).toBeCloseTo(b.objective[i] as number, 3));
              checked++;
            }
          }
        }
      }
    }
    expect(checked).toBe(2 * PROMPTS.length * SEEDS.length * 3 * 3);
  }, 120_000);
});
