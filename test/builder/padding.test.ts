/**
 * Batched prompts of different lengths: left padding with the standard
 * attention, right padding with GroupQueryAttention, prefill and a decode
 * step, compared with unpadded single-row runs. Also sliding windows, which
 * both variants must apply identically.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { buildModel, type AttentionKind } from '../../src/builder/index.js';
import type { HooksManifest } from '../../src/hooks/manifest.js';
import { cleanupTempDirs, emptyPast, fixtureDir, floatData, i64, maxAbsErr, openSession, prefill, tempDir, tinyStoriesDir, type TestSession } from './helpers.js';

afterAll(cleanupTempDirs);

const A = [1, 80, 147, 201, 282, 57];
const B = [1, 80, 247];

type Outputs = ort.InferenceSession.OnnxValueMapType;

/** Runs one decode step for a batch with the given mask/positions. */
async function decodeStep(s: TestSession, m: HooksManifest, prev: Outputs, tokens: number[], mask: number[][], positions: number[]): Promise<Outputs> {
  const feeds: Record<string, ort.Tensor> = {
    input_ids: i64(tokens, [tokens.length, 1]),
    attention_mask: i64(mask.flat(), [mask.length, mask[0]?.length ?? 0]),
    position_ids: i64(positions, [positions.length, 1]),
  };
  (m.cache.past ?? []).forEach((p, i) => {
    const q = m.cache.present?.[i];
    if (q) { feeds[p.key] = prev[q.key] as ort.Tensor; feeds[p.value] = prev[q.value] as ort.Tensor; }
  });
  return s.run(feeds);
}

/** Logits row of batch item `b` at position `t`. */
function logitsAt(out: Outputs, b: number, t: number): Float32Array {
  const dims = (out.logits as ort.Tensor).dims as number[];
  const [, S, V] = dims as [number, number, number];
  return floatData(out.logits).subarray((b * S + t) * V, (b * S + t + 1) * V);
}

async function singleRun(s: TestSession, m: HooksManifest, ids: number[], next: number): Promise<{ last: Float32Array; step: Float32Array }> {
  const out = await prefill(s, m, ids);
  const step = await decodeStep(s, m, out, [next], [Array<number>(ids.length + 1).fill(1)], [ids.length]);
  return { last: logitsAt(out, 0, ids.length - 1), step: logitsAt(step, 0, 0) };
}

function expectClose(a: Float32Array, b: Float32Array, tol = 1e-4): void {
  expect(maxAbsErr(a, b).err).toBeLessThanOrEqual(tol);
}

const models: [string, AttentionKind, string][] = [
  ['tinystories', 'standard', tinyStoriesDir],
  ['tinystories', 'gqa', tinyStoriesDir],
  ['Mistral (head size 8)', 'standard', fixtureDir('MistralForCausalLM')],
  ['Mistral (head size 8)', 'gqa', fixtureDir('MistralForCausalLM')],
  ['GPT-2 (learned positions)', 'standard', fixtureDir('GPT2LMHeadModel')],
  ['GPT-2 (learned positions)', 'gqa', fixtureDir('GPT2LMHeadModel')],
];

describe.each(models)('%s, attention=%s, batched prompts', (_name, attention, source) => {
  it(`matches single-row runs with ${attention === 'gqa' ? 'right' : 'left'} padding, prefill and decode`, async () => {
    const out = join(tempDir('pad'), 'model');
    const m = await buildModel(source, out, { attention });
    const s = await openSession(out);
    const nextA = 9;
    const nextB = 11;
    const refA = await singleRun(s, m, A, nextA);
    const refB = await singleRun(s, m, B, nextB);
    const pad = A.length - B.length;
    const zeros = Array<number>(pad).fill(0);
    let ids: number[][], mask: number[][], pos: number[][];
    if (m.inputs.padding === 'left') {
      ids = [A, [...zeros, ...B]];
      mask = [A.map(() => 1), [...zeros, ...B.map(() => 1)]];
      pos = [A.map((_, i) => i), [...zeros, ...B.map((_, i) => i)]];
    } else {
      ids = [A, [...B, ...zeros]];
      mask = [A.map(() => 1), [...B.map(() => 1), ...zeros]];
      pos = [A.map((_, i) => i), [...B.map((_, i) => i), ...zeros]];
    }
    const T = A.length;
    const batch = await s.run({
      input_ids: i64(ids.flat(), [2, T]), attention_mask: i64(mask.flat(), [2, T]), position_ids: i64(pos.flat(), [2, T]), ...emptyPast(m, 2),
    });
    expectClose(logitsAt(batch, 0, T - 1), refA.last);
    const lastB = m.inputs.padding === 'left' ? T - 1 : B.length - 1;
    expectClose(logitsAt(batch, 1, lastB), refB.last);

    // One decode step. Left padding: the new column is valid for both rows.
    // Right padding (GroupQueryAttention): a row's valid length is the mask
    // sum, so row B counts B.length + 1 ones.
    const stepMask = m.inputs.padding === 'left'
      ? [Array<number>(T + 1).fill(1), [...zeros, ...Array<number>(B.length + 1).fill(1)]]
      : [Array<number>(T + 1).fill(1), [...Array<number>(B.length + 1).fill(1), ...zeros]];
    const step = await decodeStep(s, m, batch, [nextA, nextB], stepMask, [A.length, B.length]);
    expectClose(logitsAt(step, 0, 0), refA.step);
    expectClose(logitsAt(step, 1, 0), refB.step);
    await s.release();
  });
});

describe('sliding window attention', () => {
  /** The Mistral fixture with a sliding window of 3 keys. */
  function windowedCheckpoint(window: number | null): string {
    const src = fixtureDir('MistralForCausalLM');
    const dir = join(tempDir('window'), 'ckpt');
    mkdirSync(dir);
    const cfg = JSON.parse(readFileSync(join(src, 'config.json'), 'utf8')) as Record<string, unknown>;
    cfg.sliding_window = window;
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
    symlinkSync(join(src, 'model.safetensors'), join(dir, 'model.safetensors'));
    return dir;
  }

  it('gives the same logits in both variants, prefill and decode, and differs from full attention', async () => {
    const ids = [1, 5, 9, 13, 17, 21, 25, 29];
    const runs: Float32Array[][] = [];
    for (const [window, attention] of [[3, 'standard'], [3, 'gqa'], [null, 'standard']] as const) {
      const out = join(tempDir('window'), 'model');
      const m = await buildModel(windowedCheckpoint(window), out, { attention });
      const s = await openSession(out);
      let res = await prefill(s, m, ids);
      const steps = [floatData(res.logits).slice()];
      const seq = [...ids];
      for (const next of [33, 37, 41, 45]) {
        seq.push(next);
        res = await decodeStep(s, m, res, [next], [seq.map(() => 1)], [seq.length - 1]);
        steps.push(floatData(res.logits).slice());
      }
      runs.push(steps);
      await s.release();
    }
    const [std, gqa, full] = runs as [Float32Array[], Float32Array[], Float32Array[]];
    std.forEach((x, i) => expectClose(x, gqa[i] as Float32Array, 1e-5));
    expect(maxAbsErr(std[0] as Float32Array, full[0] as Float32Array).err).toBeGreaterThan(1e-6);
  });
});

describe('standard attention, batched multi-token continuation', () => {
  it('appends several tokens per row to a left-padded cache', async () => {
    const out = join(tempDir('chunk'), 'model');
    const m = await buildModel(tinyStoriesDir, out, { attention: 'standard' });
    const s = await openSession(out);
    const more = [13, 17];
    const pad = A.length - B.length;
    const zeros = Array<number>(pad).fill(0);
    const T = A.length;
    const first = await s.run({
      input_ids: i64([...A, ...zeros, ...B], [2, T]),
      attention_mask: i64([...A.map(() => 1), ...zeros, ...B.map(() => 1)], [2, T]),
      position_ids: i64([...A.map((_, i) => i), ...zeros, ...B.map((_, i) => i)], [2, T]),
      ...emptyPast(m, 2),
    });
    const feeds: Record<string, ort.Tensor> = {
      input_ids: i64([...more, ...more], [2, 2]),
      attention_mask: i64([...Array<number>(T + 2).fill(1), ...zeros, ...Array<number>(B.length + 2).fill(1)], [2, T + 2]),
      position_ids: i64([A.length, A.length + 1, B.length, B.length + 1], [2, 2]),
    };
    (m.cache.past ?? []).forEach((p, i) => {
      const q = m.cache.present?.[i];
      if (q) { feeds[p.key] = first[q.key] as ort.Tensor; feeds[p.value] = first[q.value] as ort.Tensor; }
    });
    const second = await s.run(feeds);
    for (const [row, ids] of [[0, A], [1, B]] as const) {
      const full = await prefill(s, m, [...ids, ...more]);
      for (let k = 0; k < more.length; k++) expectClose(logitsAt(second, row, k), logitsAt(full, 0, ids.length + k));
    }
    await s.release();
  });
});
