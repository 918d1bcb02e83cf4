/**
 * The openai backend against onnx-steer's own server (in-process, 127.0.0.1,
 * port 0) gives the same candidates, picks, rewards and KL as the local
 * backend on the same seeds, greedy and sampled: both seed row k with
 * rowSeed(seed, k), and scores come from the same forward passes.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAB, type ABResult } from '../../src/ab/harness.js';
import { runBestOfN } from '../../src/ab/bon.js';
import { openaiBackend } from '../../src/backends/openai.js';
import type { Backend } from '../../src/backends/types.js';
import { parseReward } from '../../src/rewards/parse.js';
import type { HookedModel } from '../../src/model/hooked-model.js';
import { Steering } from '../../src/vectors/steering.js';
import { parseUtility } from '../../src/utilities/parse.js';
import { checksumOf } from '../../src/vectors/checksum.js';
import { SteeringVector } from '../../src/vectors/vector.js';
import { loadDefault } from '../helpers/models.js';
import { MODEL, VECTORS, startServer, type Running } from '../server/helpers.js';

let model: HookedModel;
let srv: Running;
let remote: Backend;
let joy: SteeringVector;

beforeAll(async () => {
  model = await loadDefault();
  srv = await startServer(model, { maxBatch: 16 });
  remote = await openaiBackend({ baseURL: srv.url, maxRetries: 0 });
  joy = SteeringVector.load(join(VECTORS, 'joy.json'), { model });
}, 120_000);
afterAll(async () => {
  await srv?.close();
  await model?.dispose();
});

const PROMPT = 'Once upon a time, there was a little dog';

describe('openai backend = local backend', () => {
  it('names the served model and draws the same rows (ids, text, log-probs, seeds) greedy and seeded, steered or not', async () => {
    expect(remote.info).toMatchObject({ kind: 'openai', model: MODEL });
    const listed = (await (await fetch(`${srv.url}/v1/steering/vectors`)).json()) as { data: { id: string; checksum?: string }[] };
    expect(listed.data.find((v) => v.id === 'joy')?.checksum).toBe(checksumOf(joy));
    for (const temperature of [0, 1]) {
      for (const steering of [undefined, Steering.of(joy, { strength: 4 })]) {
        const req = { prompt: PROMPT, n: 3, temperature, topP: 1, maxNewTokens: 10, seed: 7, ...(steering ? { steering } : {}) };
        const local = await model.generate(PROMPT, { n: 3, temperature, maxNewTokens: 10, seed: 7, ...(steering ? { steering: steering.plan() } : {}) });
        const got = await remote.draw(req);
        expect(got.rows.map((r) => r.ids)).toEqual(local.rows.map((r) => r.ids));
        expect(got.rows.map((r) => r.text)).toEqual(local.rows.map((r) => r.text));
        expect(got.rows.map((r) => r.seed)).toEqual(local.rows.map((r) => r.seed));
        expect(got.rows.map((r) => r.finishReason)).toEqual(local.rows.map((r) => r.finishReason));
        got.rows.forEach((r, i) => r.logprobs.forEach((lp, t) => expect(lp).toBeCloseTo(local.rows[i]?.logprobs[t] ?? NaN, 4)));
      }
    }
  });

  it('reports the finish reasons the local backend reports: eos where a row ended at EOS, not the server\'s stop', async () => {
    const req = { prompt: 'The end.', n: 8, temperature: 1, topP: 1, maxNewTokens: 160, seed: 11 };
    const local = await model.generate(req.prompt, { n: 8, temperature: 1, maxNewTokens: 160, seed: 11 });
    const got = await remote.draw(req);
    expect(got.rows.map((r) => r.ids)).toEqual(local.rows.map((r) => r.ids));
    expect(got.rows.map((r) => r.finishReason)).toEqual(local.rows.map((r) => r.finishReason));
    expect(got.rows.some((r) => r.finishReason === 'eos')).toBe(true);
    expect(got.rows.every((r) => r.finishReason === 'eos' || r.finishReason === 'length')).toBe(true);
  }, 120_000);

  it('scores log π(y | x) like score(), unsteered and steered at every position or only generated ones', async () => {
    const ys = [[300, 301, 302], [40], [7, 8, 9, 10, 11]];
    for (const steering of [undefined, Steering.of(joy, { strength: 3 }), Steering.of(joy, { strength: 3, positions: 'generated' })]) {
      const local = await model.score(PROMPT, ys, steering ? { steering: steering.plan() } : {});
      const got = await remote.score({ prompt: PROMPT, continuations: ys, ...(steering ? { steering } : {}) });
      got.forEach((g, i) => {
        expect(g.tokenLogprobs).toHaveLength(ys[i]?.length ?? -1);
        expect(g.logprob).toBeCloseTo(local[i]?.logprob ?? NaN, 3);
      });
    }
  });

  it('Best-of-N (kl-bon, steered): the same candidates, rewards, log π_ref and pick', async () => {
    const reward = await parseReward('afinn');
    const utility = parseUtility('rouge-l');
    for (const temperature of [0, 1]) {
      const o = { n: 4, method: 'kl-bon' as const, beta: 0.5, reward, utility, steering: Steering.of(joy, { strength: 3 }), sampling: { maxNewTokens: 10, seed: 3, temperature } };
      const a = await runBestOfN(model, PROMPT, o);
      const b = await runBestOfN(remote, PROMPT, o);
      expect(b.chosen).toBe(a.chosen);
      expect(b.candidates.map((c) => c.text)).toEqual(a.candidates.map((c) => c.text));
      expect(b.candidates.map((c) => c.reward)).toEqual(a.candidates.map((c) => c.reward));
      b.candidates.forEach((c, i) => expect(c.refLogprob).toBeCloseTo(a.candidates[i]?.refLogprob ?? NaN, 3));
      expect(b.utilityMatrix).toEqual(a.utilityMatrix);
    }
  });

  it('the A/B harness: the same picks, rewards and KL per arm, greedy and seeded', async () => {
    const proxy = await parseReward('afinn');
    const gold = await parseReward('vader');
    const utility = parseUtility('rouge-l');
    const prompts = ['Finn had a green toy truck. ', 'The sun was hot and Lily'];
    const summary = (r: ABResult) => ({
      selections: r.selections.map((s) => [s.arm, s.promptIndex, s.chosen]),
      rewards: r.pools.map((ps) => ps.map((p) => p.candidates.map((c) => [c.text, c.proxy, c.gold]))),
      arms: r.arms.map((a) => [a.arm.id, a.gold?.mean ?? null, a.proxy?.mean ?? null]),
    });
    for (const temperature of [0, 1]) {
      const o = { prompts, vector: joy, strengths: [3], ns: [2, 3], beta: 0.5, proxy, gold, utility, sampling: { maxNewTokens: 8, seed: 5, temperature }, klResamples: 50, bootstrapResamples: 50 };
      const a = await runAB(model, o);
      const b = await runAB(remote, { ...o, concurrency: 2 });
      expect(summary(b)).toEqual(summary(a));
      b.arms.forEach((arm, i) => {
        const k = a.arms[i]?.kl.estimate;
        if (k === null || k === undefined) expect(arm.kl.estimate).toBe(k ?? null);
        else expect(arm.kl.estimate).toBeCloseTo(k, 3);
      });
      expect(b.config.backends.policy).toBe(remote.info.id);
      expect(b.arms.find((x) => x.arm.id === 'steer@3')?.kl.estimate).toBeGreaterThan(0);
    }
  }, 240_000);
});
