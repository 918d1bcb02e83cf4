/**
 * Long prompts (> 128 and > 256 tokens, the longest prefilled in chunks) in
 * a mixed batch give exactly what they give alone: greedy and seeded, ids
 * and logprobs bit for bit, on the default model (head size 16) and on a
 * random-init build with head size 64, whose attention × V sums run in
 * blocks of 256 positions (see DecodeBatch.block).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../src/builder/index.js';
import { DecodeBatch, sgemmKStride } from '../../src/generation/batch.js';
import type { HookedModel } from '../../src/model/hooked-model.js';
import { ModelRunner } from '../../src/runtime/runner.js';
import type { GenerationRequest, JobResult } from '../../src/serving/job.js';
import { Scheduler } from '../../src/serving/scheduler.js';
import { loadDefault } from '../helpers/models.js';
import { TINYSTORIES, tempDir } from '../helpers/paths.js';

const work = tempDir('long-prompts-');
let model: HookedModel;
let wide: ModelRunner;
beforeAll(async () => {
  model = await loadDefault();
  // The default model's shape with 2 heads of 64 (one KV head), random weights.
  const src = join(work.path, 'src');
  mkdirSync(src);
  const config = JSON.parse(readFileSync(join(TINYSTORIES, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(src, 'config.json'), JSON.stringify({ ...config, num_attention_heads: 2, num_key_value_heads: 1 }));
  await buildModel(src, join(work.path, 'wide'), { randomInit: { seed: 3 } });
  wide = await ModelRunner.open(join(work.path, 'wide'), { intraOpNumThreads: 1 });
});
afterAll(async () => {
  await model?.dispose();
  await wide?.release();
  work.cleanup();
});

const ids = (n: number, s: number) => Array.from({ length: n }, (_, t) => 3 + ((s * 31 + t * 7) % 2000));
const tokenizer = { decode: (x: readonly number[]) => x.join(' '), eosIds: [] as number[] };

function requests(lengths: readonly number[]): GenerationRequest[] {
  return lengths.flatMap((n, i) => [
    { promptIds: ids(n, i), maxTokens: 12, ignoreEos: true, sampling: { temperature: 0 } },
    { promptIds: ids(n, i + 50), maxTokens: 12, ignoreEos: true, sampling: { temperature: 0.9, topP: 0.95 }, seed: 11 + i },
  ]);
}

/** Runs the requests together (arriving a few ms apart) and records the most padding the batch held. */
async function together(s: Scheduler, reqs: readonly GenerationRequest[]): Promise<{ results: JobResult[]; maxPadding: number }> {
  let maxPadding = 0;
  const results = await Promise.all(reqs.map(async (r, i) => {
    await new Promise((res) => setTimeout(res, i * 2));
    const job = s.submit(r);
    for await (const ev of job.events) { maxPadding = Math.max(maxPadding, s.metrics().paddingSlots); if (ev.type === 'done') break; }
    return job.result;
  }));
  return { results, maxPadding };
}

async function expectSolo(s: Scheduler, reqs: readonly GenerationRequest[], got: readonly JobResult[]): Promise<void> {
  for (let i = 0; i < reqs.length; i++) {
    const alone = await s.submit(reqs[i]!).result;
    expect(got[i]!.rows[0]!.ids).toEqual(alone.rows[0]!.ids);
    expect(got[i]!.rows[0]!.tokens.map((t) => t.logprob)).toEqual(alone.rows[0]!.tokens.map((t) => t.logprob));
  }
}

describe('long prompts in a mixed batch', () => {
  it('default model: 140- and 300-token prompts beside short ones equal their solo results exactly', async () => {
    const s = new Scheduler(model, { maxBatch: 8 });
    const reqs = requests([12, 140, 300, 20]);
    const { results, maxPadding } = await together(s, reqs);
    expect(maxPadding).toBeGreaterThanOrEqual(128);
    const m = s.metrics();
    expect(m.rowStepsTotal / m.decodeStepsTotal).toBeGreaterThan(2);
    await expectSolo(s, reqs, results);
    // Alone through the scheduler is generate() alone (the 140-token prompt fits one prefill pass).
    const ref = await model.generate(ids(140, 1), { maxNewTokens: 12, temperature: 0 });
    expect(results[2]!.rows[0]!.ids).toEqual(ref.rows[0]!.ids);
    await s.close();
  });

  it('head size 64: rows whose padding would straddle a 256-position block wait; everything stays exact', async () => {
    const s = new Scheduler({ runner: wide, tokenizer }, { maxBatch: 8 });
    const reqs = requests([12, 140, 268, 300]);
    const { results } = await together(s, reqs);
    await expectSolo(s, reqs, results);
    await s.close();
  });

  it('the refused join is real: a 268-position row padded by 8 differs from itself alone', async () => {
    expect(sgemmKStride(64)).toBe(256);
    expect(sgemmKStride(16)).toBe(1024);
    const prefill = async (n: number, seed: number) => (await wide.forward({ ids: ids(n, seed), batch: 1, seqLen: n, cache: wide.emptyCache(1) })).cache;
    const row = await prefill(268, 1);
    const longer = await prefill(276, 2);
    const solo = new DecodeBatch(wide);
    solo.add(row);
    const alone = (await solo.step([5], {})).slice();
    const guarded = new DecodeBatch(wide);
    guarded.add(longer);
    expect(guarded.canJoin(268, 300)).toBe(false);
    expect(guarded.canJoin(268 - 256 + 8, 40)).toBe(true);
    const unguarded = new DecodeBatch(wide, { block: Infinity });
    unguarded.add(longer);
    unguarded.add(row);
    const out = await unguarded.step([6, 5], {});
    const V = alone.length;
    expect(Array.from(out.subarray(V, 2 * V))).not.toEqual(Array.from(alone));
  });
});
