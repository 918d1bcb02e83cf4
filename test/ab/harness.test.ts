/** The A/B harness end to end on the default model (a few prompts, small N). */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAB, type ABResult } from '../../src/ab/harness.js';
import { runBestOfN } from '../../src/ab/bon.js';
import { COMPACT_DEFAULT_BETA, runCompactAB } from '../../src/ab/compact.js';
import { writeReport } from '../../src/ab/report/write.js';
import { vectorProbeLoader } from '../../src/ab/vector-probe.js';
import { captureResponseActivations } from '../../src/embed/response-activations.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { parseReward } from '../../src/rewards/parse.js';
import type { HookedModel } from '../../src/model/hooked-model.js';
import { parseUtility } from '../../src/utilities/parse.js';
import { SteeringVector } from '../../src/vectors/vector.js';
import { loadDefault } from '../helpers/models.js';
import { REPO, tempDir } from '../helpers/paths.js';

const PROMPTS = ['Once upon a time, there was a little boy named Oliver. ', 'Finn had a green toy truck. ', 'One day, Ruby dropped her ice cream on the ground. '];
const DEV = ['Jack had a blue boat. ', 'There was an old cat who slept by the fire. '];

interface JsonCandidate { index: number; text: string; ids: number[]; proxy: number | null; gold: number | null; logprob: number; refLogprob: number; steeredLogprob?: number }
interface JsonPool { key: string; candidates: JsonCandidate[]; utility: number[][] | null; invalid: { candidate: number }[] }
interface JsonSelection { arm: string; promptIndex: number; pool: string; method: string; n: number; beta: number | null; subset: number[]; chosen: number | null }
interface ResultsJson {
  rewards: { proxy: string; gold: string };
  prompts: { pools: JsonPool[] }[];
  selections: JsonSelection[];
  arms: { arm: { id: string; kind: string; n: number }; kl: { estimate: number }; gold: { mean: number } | null; cost: { generatedTokens: number } }[];
}

let model: HookedModel;
let vector: SteeringVector;
let result: ABResult;
let doc: ResultsJson;
const tmp = tempDir('onnx-steer-ab-');

beforeAll(async () => {
  model = await loadDefault();
  vector = SteeringVector.load(join(REPO, 'vectors', 'tinystories-656k', 'joy.json'), { model });
  result = await runAB(model, {
    prompts: PROMPTS, devPrompts: DEV, vector, strengths: [2], ns: [2, 4],
    proxy: await parseReward('afinn'), gold: await parseReward('vader'), utility: parseUtility('hidden', { model }),
    sampling: { maxNewTokens: 24, seed: 3 }, klResamples: 200, bootstrapResamples: 200,
  });
  await writeReport(join(tmp.path, 'run'), result);
  doc = JSON.parse(readFileSync(join(tmp.path, 'run', 'results.json'), 'utf8')) as ResultsJson;
}, 300_000);

afterAll(async () => {
  await model?.dispose();
  tmp.cleanup();
});

function byHand(pool: JsonPool, s: JsonSelection): number {
  const u = pool.utility as number[][];
  let best = -1; let bestV = -Infinity;
  for (const i of s.subset) {
    const c = pool.candidates[i] as JsonCandidate;
    const ubar = s.subset.reduce((acc, j) => acc + (u[i]?.[j] as number), 0) / s.subset.length;
    const v = (c.proxy as number) + (s.method === 'mbr-bon' ? (s.beta as number) * ubar : 0);
    if (v > bestV) { bestV = v; best = i; }
  }
  return best;
}

describe('A/B harness on the default model', () => {
  it('recomputes every BoN and MBR-BoN choice from results.json by hand', () => {
    const selecting = doc.selections.filter((s) => s.method === 'bon' || s.method === 'mbr-bon');
    expect(selecting.length).toBeGreaterThanOrEqual(PROMPTS.length * 5);
    let checked = 0;
    for (const s of selecting) {
      const kind = doc.arms.find((a) => a.arm.id === s.arm)?.arm.kind;
      if (kind === 'baseline' || kind === 'steering') continue; // one-sample arms
      const pool = doc.prompts[s.promptIndex]?.pools.find((p) => p.key === s.pool) as JsonPool;
      expect(s.subset).toEqual(Array.from({ length: s.n }, (_, i) => i).filter((i) => pool.candidates[i]?.proxy !== null && pool.candidates[i]?.gold !== null));
      expect(s.chosen).toBe(byHand(pool, s));
      checked++;
    }
    expect(checked).toBe(PROMPTS.length * 5); // bon(2), bon(4), mbr-bon(2), mbr-bon(4), steer+mbr-bon(4)
  });

  it('says which reward selects and which judges, and the gold differs from the proxy', () => {
    expect(doc.rewards).toMatchObject({ proxy: 'afinn', gold: 'vader' });
    const md = readFileSync(join(tmp.path, 'run', 'report.md'), 'utf8');
    expect(md).toContain('Proxy reward (used for selection): `afinn`');
    expect(md).toContain('Gold reward (used only to judge');
    expect(md).toContain('nested subsets');
    const html = readFileSync(join(tmp.path, 'run', 'report.html'), 'utf8');
    expect(html.match(/<svg[\s>]/g)?.length).toBe(3);
    for (const f of ['gold-vs-kl', 'proxy-vs-gold', 'reward-vs-n']) {
      const svg = readFileSync(join(tmp.path, 'run', 'charts', `${f}.svg`), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toMatch(/<path|<circle|<line/);
    }
  });

  it('draws smaller N as nested subsets: a run with n = 2 gives the first 2 candidates', async () => {
    const ref = result.pools[1]?.find((p) => p.key === 'reference');
    const again = await model.generate(PROMPTS[1] as string, { n: 2, seed: 3, temperature: 1, topP: 1, maxNewTokens: 24 });
    expect(again.rows.map((r) => r.ids)).toEqual(ref?.candidates.slice(0, 2).map((c) => c.ids));
  });

  it('uses generate() log-probs as log π_ref for unsteered pools, and score() for steered ones', async () => {
    const ref = result.pools[0]?.find((p) => p.key === 'reference');
    const scored = await model.score(PROMPTS[0] as string, ref?.candidates.map((c) => c.ids) ?? []);
    ref?.candidates.forEach((c, i) => expect(c.refLogprob).toBeCloseTo(scored[i]?.logprob as number, 3));
    const steered = result.pools[0]?.find((p) => p.key === 'steer:2');
    for (const c of steered?.candidates ?? []) {
      expect(c.steeredLogprob).toBeCloseTo(c.logprob, 3); // score() under steering = the sampling policy
      expect(c.refLogprob).not.toBeCloseTo(c.logprob, 1);
    }
  });

  it('reports KL, cost and the arms it was asked for', () => {
    const ids = doc.arms.map((a) => a.arm.id);
    expect(ids[0]).toBe('baseline');
    expect(ids).toContain('steer@2');
    expect(ids).toContain('steer@2+mbr-bon(4, β=' + String(Number(result.beta.value.toPrecision(3))) + ')');
    const steer = result.arms.find((a) => a.arm.id === 'steer@2');
    const pools = result.pools.map((ps) => ps.find((p) => p.key === 'steer:2'));
    const diffs = pools.flatMap((p) => p?.candidates.map((c) => (c.steeredLogprob as number) - c.refLogprob) ?? []);
    expect(steer?.kl.estimate).toBeCloseTo(diffs.reduce((a, b) => a + b, 0) / diffs.length, 9);
    // The steering sample is its own draw, on the baseline's random stream.
    for (const ps of result.pools) {
      const base = ps.find((p) => p.key === 'baseline')?.candidates[0];
      const sample = ps.find((p) => p.key === 'steer-sample:2')?.candidates[0];
      expect(sample?.seed).toBe(base?.seed);
      expect(sample?.steeredLogprob).toBeCloseTo(sample?.logprob as number, 3);
    }
    expect(result.selections.filter((s) => s.arm === 'steer@2').every((s) => s.pool === 'steer-sample:2' && s.chosen === 0)).toBe(true);
    const bon4 = result.arms.find((a) => a.arm.id === 'bon(4)');
    const tokens = result.pools.reduce((s, ps) => s + (ps[1]?.candidates.slice(0, 4).reduce((t, c) => t + c.ids.length, 0) ?? 0), 0);
    expect(bon4?.cost.generatedTokens).toBe(tokens);
    expect(bon4?.kl.bound).toBeCloseTo(Math.log(4) - 0.75, 12);
    expect(bon4?.kl.estimate).toBeGreaterThan(0);
    for (const a of result.arms) {
      expect(Number.isFinite(a.gold?.mean)).toBe(true);
      expect(a.distinct1).toBeGreaterThan(0);
    }
    expect(result.calibration?.prompts).toBe(DEV.length);
    expect(result.beta.source).toBe('calibrated');
    expect(result.calibration?.betas).toContain(result.beta.value);
  });

  it('leaves out candidates whose reward is NaN and lists them with their candidate', async () => {
    const path = join(tmp.path, 'odd.mjs');
    writeFileSync(path, 'export default function (item) { return item.ids.length % 2 === 1 ? NaN : item.response.length / 100; }\n');
    const r = await runAB(model, {
      prompts: PROMPTS.slice(0, 2), ns: [4], beta: 1, proxy: await parseReward(`module:${path}`), gold: await parseReward('vader'),
      utility: parseUtility('rouge-l'), sampling: { maxNewTokens: 7, seed: 1 }, klResamples: 100, bootstrapResamples: 100,
    });
    const invalid = r.pools.flat().flatMap((p) => p.invalid.map((inv) => ({ p, inv })));
    expect(invalid.length).toBeGreaterThan(0);
    for (const { p, inv } of invalid) {
      expect(p.candidates[inv.candidate]?.ids.length ?? 0).toBeGreaterThan(0);
      expect((p.candidates[inv.candidate]?.ids.length ?? 0) % 2).toBe(1);
      expect(p.candidates[inv.candidate]?.proxy).toBeNull();
      expect(inv.message).toContain(`candidate ${inv.candidate}`);
    }
    for (const s of r.selections) {
      if (s.chosen === null) continue;
      const pool = r.pools[s.promptIndex]?.find((p) => p.key === s.pool);
      expect(pool?.candidates[s.chosen]?.proxy).not.toBeNull();
    }
    for (const a of r.arms) if (a.proxy) expect(Number.isFinite(a.proxy.mean)).toBe(true);
    const dir = join(tmp.path, 'nan');
    await writeReport(dir, r);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toMatch(/## Invalid rewards\n\n\| prompt \| pool \| candidate/);
  });

  it('refuses a gold reward equal to the proxy, N < 1 and β < 0', async () => {
    const afinn = await parseReward('afinn');
    const base = { prompts: PROMPTS, ns: [2], beta: 1, proxy: afinn, gold: await parseReward('vader'), utility: parseUtility('rouge-l') };
    await expect(runAB(model, { ...base, gold: afinn })).rejects.toThrow(/gold reward must differ/);
    await expect(runAB(model, { ...base, ns: [0] })).rejects.toThrow(InvalidArgumentError);
    await expect(runAB(model, { ...base, beta: -0.5 })).rejects.toThrow(/β must be/);
    await expect(runAB(model, { ...base, beta: undefined })).rejects.toThrow(/give β or dev prompts/);
  });

  it('runs Best-of-N for one prompt with the objective of every candidate', async () => {
    const r = await runBestOfN(model, PROMPTS[0] as string, {
      n: 5, method: 'mbr-bon', beta: 2, reward: await parseReward('afinn'), utility: parseUtility('hidden', { model }),
      steering: vector.toPlan({ strength: 1 }), sampling: { maxNewTokens: 12, seed: 9 },
    });
    expect(r.candidates).toHaveLength(5);
    expect(r.utilityMatrix).toHaveLength(5);
    for (const c of r.candidates) {
      const ubar = (r.utilityMatrix?.[c.index] ?? []).reduce((a, b) => a + b, 0) / 5;
      expect(c.objective).toBeCloseTo((c.reward as number) + 2 * ubar, 9);
      expect(Number.isFinite(c.refLogprob)).toBe(true);
    }
    const best = r.candidates.reduce((a, b) => ((b.objective as number) > (a.objective as number) ? b : a));
    expect(r.chosen).toBe(best.index);
  });

  it('reads probe:<vector file> rewards from shipped vector files', async () => {
    const joy = join(REPO, 'vectors', 'tinystories-656k', 'joy.json');
    const reward = await parseReward(`probe:${joy}`, { model, loadVector: vectorProbeLoader(model) });
    const site = vector.sites[0] as string;
    expect(reward.sites).toEqual([site]);
    const items = [{ prompt: PROMPTS[0] as string, response: 'She laughed and played all day.' }, { prompt: PROMPTS[0] as string, response: 'He cried alone in the dark.' }];
    const scores = await reward.score(items);
    const acts = await captureResponseActivations(model, items, [site]);
    const d = vector.direction(site);
    const norm = Math.hypot(...d);
    acts.forEach((a, i) => {
      const v = a[site] as Float32Array;
      expect(scores[i]).toBeCloseTo(v.reduce((s, x, k) => s + x * (d[k] as number) / norm, 0), 3);
    });
    expect(scores[0]).toBeGreaterThan(scores[1] as number);
  });

  it('gives the demo a compact table', async () => {
    const compact = await runCompactAB(model, vector, { prompts: PROMPTS.slice(0, 2), n: 2, sampling: { maxNewTokens: 12 } });
    expect(compact.rows.map((r) => r.arm)).toEqual(['baseline', `steer@${Number((vector.meta.recommendedStrength?.max ?? 2).toPrecision(3))}`, 'bon(2)', `mbr-bon(2, β=${COMPACT_DEFAULT_BETA})`]);
    const text = compact.format();
    expect(text.split('\n')[0]).toMatch(/^arm\s+gold \(vader\)/);
    expect(text.split('\n')).toHaveLength(2 + 4);
    expect(compact.rows.every((r) => r.tokens > 0 && r.gold !== null)).toBe(true);
  });
});
