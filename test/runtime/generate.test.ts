/**
 * Integration tests of the generation runtime on the default model
 * (TinyStories-656K built from ../shared) against the independent references.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HookedModel } from '../../src/model/hooked-model.js';
import { rowSeed } from '../../src/math/rng.js';
import type { GenerationResult } from '../../src/generation/generate.js';
import { logSoftmaxAt } from '../../src/generation/sampler.js';
import { HookNotFoundError, InvalidArgumentError } from '../../src/errors.js';
import type { Intervention } from '../../src/steering/plan.js';
import { REFERENCE } from '../helpers/paths.js';
import { loadDefault } from '../helpers/models.js';

interface GreedyRef { prompt_ids: number[]; ids: number[] }
const numpyRef = JSON.parse(readFileSync(join(REFERENCE, 'tinystories-656k.reference.json'), 'utf8')) as { greedy: GreedyRef };
const hfRef = JSON.parse(readFileSync(join(REFERENCE, 'tinystories-656k.transformers-reference.json'), 'utf8')) as { greedy: Record<string, GreedyRef> };
const REFS: [string, GreedyRef][] = [['numpy greedy from BOS', numpyRef.greedy], ...Object.entries(hfRef.greedy).map(([k, v]) => [`transformers greedy ${k}`, v] as [string, GreedyRef])];

let model: HookedModel;
beforeAll(async () => { model = await loadDefault(); }, 300_000);
afterAll(async () => { await model?.dispose(); });

describe('generate() on the default model', () => {
  for (const [name, ref] of REFS) {
    it(`reproduces the ${name} ids exactly with the KV cache`, async () => {
      const expected = ref.ids.slice(ref.prompt_ids.length);
      const out = await model.generate(ref.prompt_ids, { temperature: 0, maxNewTokens: expected.length });
      expect(out.rows[0]!.ids).toEqual(expected);
      expect(out.timing.forwardPasses).toBe(expected.length);
    });
  }

  it('row k of a sampled batch equals a single run with the row seed', async () => {
    const opts = { temperature: 0.8, topP: 0.95, maxNewTokens: 40 };
    const batch = await model.generate('Once upon a time', { ...opts, n: 4, seed: 11 });
    expect(new Set(batch.rows.map((r) => r.text)).size).toBeGreaterThan(1);
    for (let k = 0; k < 4; k++) {
      const single = await model.generate('Once upon a time', { ...opts, seed: rowSeed(11, k) });
      expect(batch.rows[k]!.seed).toBe(rowSeed(11, k));
      expect(batch.rows[k]!.ids).toEqual(single.rows[0]!.ids);
    }
  });

  it('prefilling once and prefilling per row give the same candidates', async () => {
    const opts = { temperature: 0.9, maxNewTokens: 24, n: 3, seed: 5 };
    const a = await model.generate('The dog', { ...opts, prefill: 'expand' });
    const b = await model.generate('The dog', { ...opts, prefill: 'batch' });
    expect(a.timing.prefill).toBe('expand');
    expect(b.timing.prefill).toBe('batch');
    expect(a.rows.map((r) => r.ids)).toEqual(b.rows.map((r) => r.ids));
  });

  it('is reproducible for a seed', async () => {
    const a = await model.generate('A cat', { temperature: 1, seed: 3, maxNewTokens: 30 });
    const b = await model.generate('A cat', { temperature: 1, seed: 3, maxNewTokens: 30 });
    expect(a.rows[0]!.ids).toEqual(b.rows[0]!.ids);
  });

  it('streams deltas that add up to the final text', async () => {
    let text = '';
    const done: GenerationResult[] = [];
    for await (const ev of model.stream('Once upon a time', { temperature: 0, maxNewTokens: 30 })) {
      if (ev.type === 'done') done.push(ev.result);
      else text += ev.text;
    }
    expect(done).toHaveLength(1);
    expect(text).toBe(done[0]!.rows[0]!.text);
  });

  it('stops on stop strings and cuts them from the text', async () => {
    const out = await model.generate('Once upon a time', { temperature: 0, maxNewTokens: 60, stop: ['.'] });
    const row = out.rows[0]!;
    expect(row.finishReason).toBe('stop');
    expect(row.text.includes('.')).toBe(false);
    expect(model.decode(row.ids)).toContain('.');
  });

  it('reports model log-probs of the chosen tokens', async () => {
    const out = await model.generate('Once upon a time', { temperature: 0, maxNewTokens: 5 });
    for (const lp of out.rows[0]!.logprobs) expect(lp).toBeLessThanOrEqual(0);
  });

  it('validates its options with typed errors', async () => {
    const bad = [{ maxNewTokens: 0 }, { temperature: -1 }, { topP: 0 }, { topP: 1.5 }, { n: 0 }, { stop: [''] }];
    for (const opts of bad) await expect(model.generate('Hi', opts)).rejects.toThrow(InvalidArgumentError);
    const long = new Array<number>(600).fill(5);
    await expect(model.generate(long, { maxNewTokens: 2 })).rejects.toThrow(/context is 512/);
    const iv: Intervention = { site: 'blocks.7.hook_resid_post', vector: new Float32Array(128) };
    await expect(model.generate('Hi', { steering: [iv] })).rejects.toThrow(HookNotFoundError);
  });
});

describe('steering under the KV cache', () => {
  const site = 'blocks.1.hook_resid_post';
  const big = () => { const v = new Float32Array(128); for (let i = 0; i < 128; i++) v[i] = Math.sin(i) * 60; return v; };

  it('generated-only steering leaves the first token and changes later ones', async () => {
    const base = await model.generate('Once upon a time', { temperature: 0, maxNewTokens: 12 });
    const steered = await model.generate('Once upon a time', { temperature: 0, maxNewTokens: 12, steering: [{ site, vector: big(), positions: 'generated' }] });
    expect(steered.rows[0]!.ids[0]).toBe(base.rows[0]!.ids[0]);
    expect(steered.rows[0]!.ids).not.toEqual(base.rows[0]!.ids);
  });

  it('a window in absolute positions matches a manual forward without cache', async () => {
    const prompt = model.encode('Once upon a time');
    const window = { start: prompt.length + 2, end: prompt.length + 4 };
    const out = await model.generate(prompt, { temperature: 0, maxNewTokens: 6, steering: [{ site, vector: big(), positions: window }] });
    // Recompute every generated token with one cache-free pass over the full sequence.
    const ids = [...prompt, ...out.rows[0]!.ids];
    const L = ids.length - 1;
    const v = big();
    const steer = new Float32Array(L * 128);
    for (let p = window.start; p < window.end && p < L; p++) steer.set(v, p * 128);
    const { Tensor } = await import('onnxruntime-node');
    const res = await model.runner.forward({ ids: ids.slice(0, L), batch: 1, seqLen: L, cache: model.runner.emptyCache(1), hookFeeds: { [`${site}.steer`]: new Tensor('float32', steer, [1, L, 128]) } });
    const V = res.logits!.dims[2]!;
    for (let t = prompt.length - 1; t < L; t++) {
      const row = res.logits!.data.subarray(t * V, (t + 1) * V);
      let best = 0; for (let i = 1; i < V; i++) if (row[i]! > row[best]!) best = i;
      expect(best).toBe(ids[t + 1]);
    }
  });

  it('per-row plans give each row what it gets alone', async () => {
    const plans: (Intervention[] | null)[] = [[{ site, vector: big(), strength: 1 }], null, [{ site, vector: big(), strength: -1 }]];
    const batch = await model.generate('Once upon a time', { temperature: 0.7, n: 3, seed: 2, maxNewTokens: 20, steering: { rows: plans } });
    expect(batch.timing.prefill).toBe('batch');
    expect(batch.rows[0]!.ids).not.toEqual(batch.rows[2]!.ids);
    for (let k = 0; k < 3; k++) {
      const alone = await model.generate('Once upon a time', { temperature: 0.7, seed: rowSeed(2, k), maxNewTokens: 20, ...(plans[k] ? { steering: plans[k]! } : {}) });
      expect(batch.rows[k]!.ids).toEqual(alone.rows[0]!.ids);
    }
  });
});

describe('score()', () => {
  it('equals the sum of log-softmax values read from the logits', async () => {
    const prompt = model.encode('Once upon a time');
    const gen = await model.generate(prompt, { temperature: 0, maxNewTokens: 20 });
    const cont = gen.rows[0]!.ids;
    const [scored] = await model.score(prompt, [cont]);
    const ids = [...prompt, ...cont];
    const res = await model.runner.forward({ ids, batch: 1, seqLen: ids.length, cache: model.runner.emptyCache(1) });
    const V = res.logits!.dims[2]!;
    let sum = 0;
    for (let t = 0; t < cont.length; t++) sum += logSoftmaxAt(res.logits!.data, cont[t]!, (prompt.length - 1 + t) * V, V);
    expect(Math.abs(scored!.logprob - sum)).toBeLessThan(1e-4);
    // The generation's own log-probs agree too.
    expect(Math.abs(gen.rows[0]!.logprobs.reduce((a, b) => a + b, 0) - sum)).toBeLessThan(1e-4);
  });

  it('agrees with the log-probs reported by sampled generation', async () => {
    const prompt = model.encode('The little dog');
    const gen = await model.generate(prompt, { temperature: 1, seed: 9, n: 3, maxNewTokens: 16 });
    const scored = await model.score(prompt, gen.rows.map((r) => r.ids));
    gen.rows.forEach((r, i) => {
      r.logprobs.forEach((lp, t) => expect(Math.abs(lp - scored[i]!.tokenLogprobs[t]!)).toBeLessThan(1e-4));
    });
  });

  it('gives the same scores in a batch as alone', async () => {
    const conts = [' there was a dog.', ' a girl named Lily went to the park and played', ' the end'];
    const batch = await model.score('Once upon a time,', conts);
    for (let i = 0; i < conts.length; i++) {
      const [alone] = await model.score('Once upon a time,', [conts[i]!]);
      expect(batch[i]!.tokenLogprobs.length).toBe(alone!.tokenLogprobs.length);
      expect(Math.abs(batch[i]!.logprob - alone!.logprob)).toBeLessThan(1e-4);
    }
  });
});

describe('capture()', () => {
  it('matches the reference residual stream at the last token', async () => {
    const ref = JSON.parse(readFileSync(join(REFERENCE, 'tinystories-656k.reference.json'), 'utf8')) as { sequences: { ids: number[]; hidden: number[][] }[] };
    const seqs = ref.sequences.map((s) => s.ids);
    const sites = ['blocks.0.hook_resid_post', 'blocks.1.hook_resid_post'];
    const [last, all] = await Promise.all([model.capture(seqs, sites, { positions: 'last' }), model.capture(seqs, sites, { positions: 'all' })]);
    ref.sequences.forEach((s, i) => {
      sites.forEach((site, b) => {
        const expected = s.hidden[b + 1]!;
        const got = all[i]![site]!;
        expect(got.dims).toEqual([s.ids.length, 128]);
        let maxErr = 0; let maxAbs = 0;
        expected.forEach((x, i) => { maxErr = Math.max(maxErr, Math.abs(got.data[i]! - x)); maxAbs = Math.max(maxAbs, Math.abs(x)); });
        expect(maxErr / maxAbs).toBeLessThan(1e-5);
        expect(Array.from(last[i]![site]!.data)).toEqual(Array.from(got.data.subarray((s.ids.length - 1) * 128)));
      });
    });
  });
});

describe('capture() under steering', () => {
  it('applies generated-only steering from the given prompt length on', async () => {
    const site = 'blocks.1.hook_resid_post';
    const seq = model.encode('Once upon a time, there was a dog');
    const P = 4;
    const vector = Float32Array.from({ length: 128 }, (_, i) => Math.cos(i) * 10);
    const [plain] = await model.capture([seq], [site], { positions: 'all' });
    const [steered] = await model.capture([seq], [site], { positions: 'all', promptLengths: [P], steering: [{ site, vector, positions: 'generated' }] });
    const a = plain![site]!.data;
    const b = steered![site]!.data;
    for (let t = 0; t < seq.length; t++) {
      let d = 0;
      for (let h = 0; h < 128; h++) d = Math.max(d, Math.abs(a[t * 128 + h]! - b[t * 128 + h]!));
      if (t < P) expect(d).toBe(0);
      else expect(d).toBeGreaterThan(1);
    }
    await expect(model.capture([seq], [site], { promptLengths: [1, 2] })).rejects.toThrow(InvalidArgumentError);
  });
});
