import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineArms, pickFor, type ArmSpec } from '../../src/ab/arms.js';
import { armCost, evaluateArm } from '../../src/ab/metrics.js';
import { scoreRewards } from '../../src/ab/scoring.js';
import { calibrateOnPools, describeOveroptimization, overoptimization, rewardCorrelation, studyNs } from '../../src/ab/study.js';
import { RewardModuleError } from '../../src/errors.js';
import { parseReward } from '../../src/rewards/parse.js';
import { defineReward } from '../../src/rewards/types.js';
import { tempDir } from '../helpers/paths.js';
import { fakePool } from './helpers.js';

const items = ['good day', 'bad', 'fine', 'x'].map((response) => ({ prompt: 'p', response }));

describe('rewards that return bad values', () => {
  it('keeps the good values and lists every bad candidate with its index', async () => {
    const reward = defineReward('weird', 'module', [], (its) => its.map((it) => (it.response.length === 3 ? NaN : it.response.length === 1 ? Infinity : it.response.length)));
    const r = await scoreRewards(reward, items, 'proxy');
    expect(r.values).toEqual([8, null, 4, null]);
    expect(r.invalid.map((i) => [i.candidate, i.value, i.role])).toEqual([[1, 'NaN', 'proxy'], [3, 'Infinity', 'proxy']]);
    expect(r.invalid[0]?.message).toMatch(/candidate 1 \("bad"\)/);
  });

  it('lets a throwing verifier module fail the run with a typed error', async () => {
    const tmp = tempDir();
    try {
      const path = join(tmp.path, 'verify.mjs');
      writeFileSync(path, 'export function check(item) { if (item.response === "fine") throw new Error("boom"); return true; }\n');
      const reward = await parseReward(`verifier:${path}#check`);
      const err = await scoreRewards(reward, items, 'gold').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RewardModuleError);
      expect((err as RewardModuleError).index).toBe(2);
      expect((err as RewardModuleError).exitCode).toBe(1);
    } finally {
      tmp.cleanup();
    }
  });
});

function arm(id: string, over: Partial<ArmSpec>): ArmSpec {
  return { id, kind: 'bon', pool: 'reference', method: 'bon', n: 2, beta: null, strength: null, ...over };
}

describe('arm metrics', () => {
  it('reports gold, proxy and the paired win rate of the picks', () => {
    const pools = [
      fakePool([{ proxy: 0.1, gold: 0.2 }, { proxy: 0.5, gold: 0.9 }]),
      fakePool([{ proxy: 0.4, gold: -0.5 }, { proxy: 0.3, gold: 0.0 }]),
      fakePool([{ proxy: 0.2, gold: 0.3 }, { proxy: 0.1, gold: 0.3 }]),
    ];
    const a = arm('bon(2)', {});
    const picks = pools.map((p) => pickFor(a, p));
    expect(picks.map((p) => p.chosen)).toEqual([1, 0, 0]);
    const r = evaluateArm({ arm: a, pools, picks }, [0.5, 0.1, 0.3], { klResamples: 200 });
    expect(r.gold?.mean).toBeCloseTo((0.9 - 0.5 + 0.3) / 3, 12);
    expect(r.proxy?.mean).toBeCloseTo((0.5 + 0.4 + 0.2) / 3, 12);
    expect(r.winRate).toMatchObject({ wins: 1, losses: 1, ties: 1 });
    expect(r.winRate?.mean).toBeCloseTo(0.5, 12);
    expect(r.kl.bound).toBeCloseTo(Math.log(2) - 0.5, 12);
    expect(r.perplexity).toBeCloseTo(Math.E, 9);
  });

  it('estimates steering KL as the mean log-ratio over every steered sample', () => {
    const pool = fakePool([
      { proxy: 0, refLogprob: -10, steeredLogprob: -8 },
      { proxy: 0, refLogprob: -12, steeredLogprob: -11 },
      { proxy: 0, refLogprob: -5, steeredLogprob: -5.5 },
    ], undefined, 'steer:2');
    const a = arm('steer@2', { kind: 'steering', pool: 'steer:2', method: 'sample', n: 1, strength: 2 });
    const r = evaluateArm({ arm: a, pools: [pool], picks: [pickFor(a, pool)] }, null);
    expect(r.kl.estimate).toBeCloseTo((2 + 1 - 0.5) / 3, 12);
    expect(r.kl.stderr).toBeGreaterThan(0);
    expect(r.winRate).toBeNull();
  });

  it('counts the cost of the first N candidates of a pool', () => {
    const pool = fakePool([{ proxy: 0, ids: [1, 2, 3] }, { proxy: 1, ids: [1] }, { proxy: 2, ids: [1, 2, 3, 4, 5] }, { proxy: 3, ids: [1, 2] }]);
    // pool: 11 tokens in 100 ms; reward 20 ms, capture 10 ms, utility 30 ms for 4 candidates.
    const bon = armCost(arm('bon(2)', {}), [pool], [pickFor(arm('bon(2)', {}), pool)], true);
    expect(bon).toEqual({ generatedTokens: 4, forwardPasses: 1 + 2, wallMs: 100 * 4 / 11 + 20 * 0.5 });
    const mbr = arm('mbr-bon(4)', { kind: 'mbr-bon', method: 'mbr-bon', n: 4, beta: 1 });
    const c = armCost(mbr, [pool], [pickFor(mbr, pool)], true);
    expect(c.generatedTokens).toBe(11);
    expect(c.forwardPasses).toBe(1 + 4 + 1);
    expect(c.wallMs).toBeCloseTo(100 + 20 + 10 + 30, 9);
  });

  it('defines every arm of the run', () => {
    const ids = defineArms({ ns: [4, 8], strengths: [1, 2], beta: 0.25 }).map((a) => a.id);
    expect(ids).toEqual(['baseline', 'steer@1', 'steer@2', 'bon(4)', 'bon(8)', 'mbr-bon(4, β=0.25)', 'mbr-bon(8, β=0.25)', 'steer@1+mbr-bon(8, β=0.25)', 'steer@2+mbr-bon(8, β=0.25)']);
  });
});

describe('β calibration and the overoptimization study', () => {
  // Proxy and gold agree except at the top: the highest-proxy candidate is bad under gold,
  // and it is an outlier (low utility), so MBR-BoN avoids it.
  const u = [
    [1, 0.9, 0.9, 0.1],
    [0.9, 1, 0.9, 0.1],
    [0.9, 0.9, 1, 0.1],
    [0.1, 0.1, 0.1, 1],
  ];
  const pools = [0, 1, 2].map(() => fakePool([
    { proxy: 0.1, gold: 0.1 }, { proxy: 0.3, gold: 0.3 }, { proxy: 0.2, gold: 0.2 }, { proxy: 0.9, gold: -1 },
  ], u));

  it('picks the β with the highest mean gold on dev pools', () => {
    const c = calibrateOnPools(pools, [2, 4], [0, 0.1, 1, 10]);
    expect(c.ns).toEqual([2, 4]);
    expect(c.betas).toEqual([0, 0.1, 1, 10]);
    expect(c.meanGold[0]).toEqual([0.3, -1]);
    expect(c.best).toEqual([{ n: 2, beta: 0, meanGold: 0.3 }, { n: 4, beta: 10, meanGold: 0.3 }]);
    expect(c.meanGold[2]).toEqual([0.3, -1]); // β = 1 is too weak to pass over the outlier
    expect(c.chosen).toBe(10);
  });

  it('finds gold falling with N under BoN and not under MBR-BoN, and says so', () => {
    expect(studyNs([3, 4])).toEqual([1, 2, 3, 4]);
    const s = overoptimization(pools, [4], 10, [0, 1]);
    expect(s.curves.map((c) => c.label)).toEqual(['BoN', 'MBR-BoN β=0', 'MBR-BoN β=1', 'MBR-BoN β=10']);
    const gold = (label: string, n: number) => s.points.find((p) => p.label === label && p.n === n)?.gold.mean;
    expect(gold('BoN', 2)).toBeCloseTo(0.3, 12);
    expect(gold('BoN', 4)).toBeCloseTo(-1, 12);
    expect(gold('MBR-BoN β=0', 4)).toBeCloseTo(-1, 12);
    expect(gold('MBR-BoN β=10', 4)).toBeCloseTo(0.3, 12);
    const text = describeOveroptimization(s).join('\n');
    expect(text).toMatch(/^BoN: .*gold peaks at N = 2 \(0\.300\) and ends at -1\.000\./m);
    expect(text).toMatch(/^MBR-BoN β=10: .*gold is highest at the largest N/m);
    expect(text).toMatch(/At N = 4, MBR-BoN β=10 − BoN: gold \+1\.300, proxy -0\.600/);
    expect(text).toMatch(/Pearson r = -?\d/);
    expect(s.selections).toHaveLength(4 * 3);
  });

  it('measures how far proxy and gold agree (Pearson, and Spearman with tied ranks)', () => {
    const c = rewardCorrelation([fakePool([{ proxy: 1, gold: 1 }, { proxy: 2, gold: 8 }, { proxy: 3, gold: 27 }, { proxy: 4, gold: 27 }, { proxy: null, gold: 0 }])]);
    expect(c?.n).toBe(4);
    expect(c?.spearman).toBeCloseTo(0.9486832980505138, 12); // ranks 1,2,3,4 vs 1,2,3.5,3.5
    expect(c?.pearson).toBeGreaterThan(0.9);
    expect(c?.pearson).toBeLessThan(c?.spearman as number);
    expect(rewardCorrelation([fakePool([{ proxy: 1 }, { proxy: 2 }])])).toBeNull();
  });
});
