/** The OpenAI-compatible API through the official openai client. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerGenerate } from '../../src/cli/commands/generate.js';
import type { HookedModel } from '../../src/model/hooked-model.js';
import { runCommands } from '../helpers/cli.js';
import { defaultDir, loadDefault } from '../helpers/models.js';
import { MODEL, VECTORS, startServer, type Running } from './helpers.js';

let model: HookedModel;
let srv: Running;

beforeAll(async () => {
  model = await loadDefault();
  srv = await startServer(model, { maxBatch: 8 });
});
afterAll(async () => {
  await srv?.close();
  await model?.dispose();
});

const joy = (scale: number) => ({ steering: { vectors: [{ source: 'joy', scale }] } });

describe('onnx-steer serve', () => {
  it('lists the model and the vectors', async () => {
    const models = await srv.client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([MODEL]);
    const res = await fetch(`${srv.url}/v1/steering/vectors`);
    const body = (await res.json()) as { data: { id: string; compatible: boolean }[] };
    expect(body.data.map((v) => v.id)).toEqual(expect.arrayContaining(['dialogue', 'joy']));
    expect(body.data.every((v) => v.compatible)).toBe(true);
  });

  it('completes greedily as the library does, with and without steering', async () => {
    for (const strength of [0, 6]) {
      const res = await srv.client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 20, temperature: 0, ...(strength ? joy(strength) : {}) } as never);
      const ref = await model.generate('Once upon a time', {
        maxNewTokens: 20, temperature: 0,
        ...(strength ? { steering: (await import('../../src/vectors/vector.js')).SteeringVector.load(`${VECTORS}/joy.json`, { model }).toPlan({ strength }) } : {}),
      });
      expect(res.choices[0]?.text).toBe(ref.rows[0]?.text);
      expect(res.usage?.completion_tokens).toBe(ref.rows[0]?.ids.length);
    }
  });

  it('a steered greedy request equals `onnx-steer generate --greedy` with the same vector and strength', async () => {
    const out = await runCommands([registerGenerate], ['generate', '--model', await defaultDir(), '--prompt', 'Once upon a time', '--greedy', '--max-new-tokens', '24', '--vector', `${VECTORS}/joy.json=5`, '--json']);
    const cli = JSON.parse(out) as { candidates: { text: string; ids: number[] }[] };
    const steered = await srv.client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 24, temperature: 0, ...joy(5) } as never);
    const plain = await srv.client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 24, temperature: 0 });
    expect(steered.choices[0]?.text).toBe(cli.candidates[0]?.text);
    expect(steered.choices[0]?.text).not.toBe(plain.choices[0]?.text);
  });

  it('chat: non-streamed and streamed give the same text; the stream starts with the role and ends with finish_reason', async () => {
    const messages = [{ role: 'user' as const, content: 'Once upon a time, there was a cat' }];
    const full = await srv.client.chat.completions.create({ model: MODEL, messages, max_tokens: 24, temperature: 0.8, seed: 3 });
    const stream = await srv.client.chat.completions.create({ model: MODEL, messages, max_tokens: 24, temperature: 0.8, seed: 3, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let first: string | undefined;
    let finish: string | null | undefined;
    let usage: number | undefined;
    for await (const chunk of stream) {
      const c = chunk.choices[0];
      if (c) {
        first ??= c.delta.role;
        text += c.delta.content ?? '';
        if (c.finish_reason) finish = c.finish_reason;
      }
      if (chunk.usage) usage = chunk.usage.completion_tokens;
    }
    expect(first).toBe('assistant');
    expect(text).toBe(full.choices[0]?.message.content);
    expect(finish).toBe(full.choices[0]?.finish_reason);
    expect(usage).toBe(full.usage?.completion_tokens);
    // The official stream helper accumulates the same message.
    const helper = srv.client.chat.completions.stream({ model: MODEL, messages, max_tokens: 24, temperature: 0.8, seed: 3 });
    const done = await helper.finalChatCompletion();
    expect(done.choices[0]?.message.content).toBe(text);
  });

  it('seeded sampling repeats exactly, n > 1 rows follow rowSeed, and seeds differ', async () => {
    const ask = (seed: number, n: number) => srv.client.completions.create({ model: MODEL, prompt: 'The dog', max_tokens: 16, temperature: 1, top_p: 0.95, seed, n });
    const a = await ask(42, 3);
    const b = await ask(42, 3);
    expect(a.choices.map((c) => c.text)).toEqual(b.choices.map((c) => c.text));
    expect(a.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(new Set(a.choices.map((c) => c.text)).size).toBeGreaterThan(1);
    const lib = await model.generate('The dog', { maxNewTokens: 16, temperature: 1, topP: 0.95, seed: 42, n: 3 });
    expect(a.choices.map((c) => c.text)).toEqual(lib.rows.map((r) => r.text));
    const c = await ask(43, 1);
    expect(c.choices[0]?.text).not.toBe(a.choices[0]?.text);
  });

  it('stop strings end the text before the stop, streamed or not', async () => {
    const base = await srv.client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 30, temperature: 0 });
    const text = base.choices[0]?.text ?? '';
    const words = text.trim().split(/\s+/);
    const stop = ` ${words[3] ?? ''}`;
    const cut = text.slice(0, text.indexOf(stop));
    const res = await srv.client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 30, temperature: 0, stop: [stop] });
    expect(res.choices[0]?.text).toBe(cut);
    expect(res.choices[0]?.finish_reason).toBe('stop');
    const stream = await srv.client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 30, temperature: 0, stop: stop, stream: true });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.text ?? '';
    expect(streamed).toBe(cut);
  });

  it('echo + logprobs with max_tokens 0 scores the prompt: log π(x_t | x_<t) equals the library', async () => {
    const prompt = 'Once upon a time there was a girl';
    const res = await srv.client.completions.create({ model: MODEL, prompt, max_tokens: 0, echo: true, logprobs: 1 });
    const lp = res.choices[0]?.logprobs;
    expect(res.choices[0]?.text).toBe(prompt);
    const ids = model.encode(prompt);
    expect(lp?.tokens?.length).toBe(ids.length);
    expect(lp?.token_logprobs?.[0]).toBeNull();
    const [scored] = await model.score(ids.slice(0, 1), [ids.slice(1)]);
    const got = (lp?.token_logprobs ?? []).slice(1);
    got.forEach((v, i) => expect(v).toBeCloseTo(scored?.tokenLogprobs[i] ?? NaN, 4));
    expect(Object.keys(lp?.top_logprobs?.[1] ?? {})).toHaveLength(1);
    // Generated-token logprobs are the raw model's: greedy tokens are the argmax, so top-1 equals the chosen token.
    const gen = await srv.client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 5, temperature: 0, logprobs: true, top_logprobs: 2 });
    for (const t of gen.choices[0]?.logprobs?.content ?? []) {
      expect(t.top_logprobs).toHaveLength(2);
      expect(t.top_logprobs[0]?.logprob).toBeCloseTo(t.logprob, 6);
    }
  });

  it('accepts EasySteer windows and the ablate operators; refuses bad steering with 400', async () => {
    const base = { model: MODEL, prompt: 'Once upon a time', max_tokens: 12, temperature: 0 };
    const gen = await srv.client.completions.create({ ...base, steering: { vectors: [{ source: 'joy', scale: 6, layers: [0], apply: { generation: 'all' } }] } } as never);
    const ablate = await srv.client.completions.create({ ...base, steering: { vectors: [{ source: 'joy', operator: 'ablate-add', scale: 3, apply: { generation_window: [0, 4] } }] } } as never);
    expect(gen.choices[0]?.text.length).toBeGreaterThan(0);
    expect(ablate.choices[0]?.text.length).toBeGreaterThan(0);
    for (const steering of [
      { vectors: [{ source: 'nope', scale: 1 }] },
      { vectors: [{ source: 'joy', scale: 'big' }] },
      { vectors: [{ source: 'joy', scale: 1, layers: [7] }] },
      { vectors: [{ source: 'joy', scale: 1, apply: { generation_window: [-2, 3] } }] },
      { vectors: [{ source: 'joy', scale: 1 }, { source: 'joy', scale: 1 }], conflict: 'error' },
      { vectors: [{ source: 'joy', operator: 'rotate' }] },
    ]) {
      await expect(srv.client.completions.create({ ...base, steering } as never)).rejects.toMatchObject({ status: 400 });
    }
  });
});
