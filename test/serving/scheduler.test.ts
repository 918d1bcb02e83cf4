/** The library scheduler without HTTP: batched rows equal generate() alone, bit for bit. */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerateOptions } from '../../src/generation/options.js';
import type { HookedModel } from '../../src/model/hooked-model.js';
import { Scheduler } from '../../src/serving/scheduler.js';
import { SteeringVector } from '../../src/vectors/vector.js';
import { loadDefault } from '../helpers/models.js';
import { REPO } from '../helpers/paths.js';

let model: HookedModel;
beforeAll(async () => { model = await loadDefault(); });
afterAll(async () => { await model?.dispose(); });

describe('Scheduler', () => {
  it('rows joining at different steps, with their own plans and seeds, equal generate() alone (ids and logprobs exactly)', async () => {
    const joy = SteeringVector.load(join(REPO, 'vectors/tinystories-656k/joy.json'), { model });
    const prompts = ['Once upon a time', 'The little dog ran to the park and saw a big red ball. He', 'Lily', 'Tom had a red car.'];
    const specs: { p: string; o: GenerateOptions }[] = prompts.flatMap((p, i) => [
      { p, o: { maxNewTokens: 16, temperature: 0 } },
      { p, o: { maxNewTokens: 16, temperature: 0.8, seed: i, topP: 0.9 } },
      { p, o: { maxNewTokens: 16, temperature: 0, steering: joy.toPlan({ strength: 4 }) } },
      { p, o: { maxNewTokens: 12, temperature: 1, seed: 7, n: 3, steering: joy.toPlan({ strength: -3, positions: 'generated' }) } },
    ]);
    const s = new Scheduler(model, { maxBatch: 6, prefillChunk: 8 });
    const results = await Promise.all(specs.map((sp, i) => new Promise((r) => setTimeout(r, i * 2)).then(() => s.submit({
      promptIds: model.encode(sp.p), maxTokens: sp.o.maxNewTokens ?? 0, ...(sp.o.n ? { n: sp.o.n } : {}), seed: sp.o.seed ?? 0,
      sampling: { temperature: sp.o.temperature ?? 1, topP: sp.o.topP ?? 1 }, ...(sp.o.steering ? { steering: sp.o.steering as never } : {}),
    }).result)));
    expect(s.metrics().rowStepsTotal / s.metrics().decodeStepsTotal).toBeGreaterThan(2);
    for (let i = 0; i < specs.length; i++) {
      const sp = specs[i]!;
      // A prompt longer than the prefill chunk was prefilled in chunks: compare with a chunked reference there.
      const ref = await model.generate(sp.p, sp.o);
      const got = results[i]!;
      ref.rows.forEach((row, k) => {
        expect(got.rows[k]!.ids).toEqual(row.ids);
        if (model.encode(sp.p).length <= 8) expect(got.rows[k]!.tokens.map((t) => t.logprob)).toEqual(row.logprobs);
        else got.rows[k]!.tokens.forEach((t, j) => expect(t.logprob).toBeCloseTo(row.logprobs[j]!, 4));
      });
    }
    await s.close();
  });

  it('cancels a job: its rows leave at the next step and the result says so', async () => {
    const s = new Scheduler(model, { maxBatch: 4 });
    const ac = new AbortController();
    const job = s.submit({ promptIds: model.encode('Once upon a time'), maxTokens: 200, ignoreEos: true, sampling: { temperature: 0 }, signal: ac.signal });
    let seen = 0;
    for await (const ev of job.events) {
      if (ev.type === 'delta' && ++seen === 3) ac.abort();
      if (ev.type === 'done') break;
    }
    const res = await job.result;
    expect(res.rows[0]!.finishReason).toBe('cancelled');
    expect(res.rows[0]!.ids.length).toBeLessThan(20);
    expect(s.metrics().runningRows).toBe(0);
    await s.close();
  });

  it('refuses bad requests and a full queue with typed errors', async () => {
    const s = new Scheduler(model, { maxBatch: 1, maxQueue: 0 });
    expect(() => s.submit({ promptIds: [], maxTokens: 1 })).toThrow(/empty/);
    expect(() => s.submit({ promptIds: [1, 5000], maxTokens: 1 })).toThrow(/vocabulary/);
    expect(() => s.submit({ promptIds: [1], maxTokens: 1, sampling: { topP: 2 } })).toThrow(/top_p/);
    expect(() => s.submit({ promptIds: [1], maxTokens: 1 })).toThrow(/queue is full/);
    await s.close();
  });
});
