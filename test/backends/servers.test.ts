/**
 * How the openai backend reacts to the servers it does not ship with, each
 * mocked (fastify, 127.0.0.1) after its documentation:
 *
 * - vLLM: `prompt_logprobs` per choice is a list with null first, then one
 *   dict per prompt token mapping token ids to {logprob, rank,
 *   decoded_token} (the prompt's own token, plus top-k alternatives);
 *   `echo` is refused here (400) so the client must fall back to it; POST
 *   /tokenize gives a text prompt's ids; choices carry `stop_reason` (the
 *   stop string, or null for EOS). Scores must equal the numbers served.
 * - llama.cpp's server: /v1/completions ignores `echo` and
 *   `return_tokens_as_token_ids` and returns log-probs of generated tokens
 *   only, as token strings (llama.cpp issues #11346, #27174); no
 *   /v1/steering/vectors. Drawing, scoring and steering must each fail with
 *   one typed line naming what is missing.
 */
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openaiBackend } from '../../src/backends/openai.js';
import { BackendCapabilityError } from '../../src/errors.js';
import { Steering } from '../../src/vectors/steering.js';
import { SteeringVector } from '../../src/vectors/vector.js';
import { REPO } from '../helpers/paths.js';

/** The mock's tokenizer: BOS (1), then one id per character. */
const tokenize = (text: string) => [1, ...[...text].map((c) => 10 + (c.codePointAt(0) ?? 0))];
/** The log-prob the vLLM mock serves for token `id` at position t. */
const served = (t: number, id: number) => -0.25 * ((id % 7) + 1) - 0.01 * t;

let vllm: FastifyInstance;
let vllmUrl = '';
const vllmBodies: Record<string, unknown>[] = [];
let tokenizeCalls = 0;

let llama: FastifyInstance;
let llamaUrl = '';

function vllmPromptLogprobs(ids: readonly number[]): (Record<string, { logprob: number; rank: number; decoded_token: string }> | null)[] {
  return ids.map((id, t) => {
    if (t === 0) return null;
    const own = { logprob: served(t, id), rank: 1 + (id % 3), decoded_token: `<${id}>` };
    // With rank > 1 a likelier token exists: vLLM lists it too; put it first so a reader must pick by id.
    return own.rank > 1 ? { [String(id + 1)]: { logprob: -0.01, rank: 1, decoded_token: `<${id + 1}>` }, [String(id)]: own } : { [String(id)]: own };
  });
}

beforeAll(async () => {
  vllm = Fastify();
  vllm.get('/v1/models', () => ({ object: 'list', data: [{ id: 'Qwen/Qwen2.5-0.5B', object: 'model' }] }));
  vllm.post('/tokenize', (req) => {
    tokenizeCalls++;
    const { prompt } = req.body as { prompt: string };
    const tokens = tokenize(prompt);
    return { count: tokens.length, max_model_len: 4096, tokens };
  });
  vllm.post('/v1/completions', (req, reply) => {
    const b = req.body as { prompt: string | number[][]; n?: number; echo?: boolean; prompt_logprobs?: number; max_tokens: number; seed?: number };
    vllmBodies.push(req.body as Record<string, unknown>);
    if (b.echo) return reply.status(400).send({ object: 'error', message: 'echo is not supported with prompt token ids here; use prompt_logprobs', type: 'BadRequestError', param: null, code: 400 });
    const prompts = typeof b.prompt === 'string' ? [tokenize(b.prompt)] : b.prompt;
    if (b.prompt_logprobs !== undefined) {
      return { id: 'cmpl-1', object: 'text_completion', created: 0, model: 'Qwen/Qwen2.5-0.5B', choices: prompts.map((ids, i) => ({ index: i, text: 'x', logprobs: { tokens: ['token_id:99'], token_logprobs: [-1], top_logprobs: [{}], text_offset: [0] }, finish_reason: 'length', stop_reason: null, prompt_logprobs: vllmPromptLogprobs(ids) })) };
    }
    // A draw: row 0 ends at EOS (token 2; stop_reason null), row 1 at the stop string "\n", row 2 at max_tokens.
    const rows = [{ ids: [40, 41, 2], finish: 'stop', stop: null }, { ids: [50, 51], finish: 'stop', stop: '\n' }, { ids: [60, 61, 62], finish: 'length', stop: null }];
    return {
      id: 'cmpl-2', object: 'text_completion', created: 0, model: 'Qwen/Qwen2.5-0.5B',
      choices: rows.slice(0, b.n ?? 1).map((r, k) => ({ index: k, text: r.ids.map((x) => `<${x}>`).join(''), logprobs: { tokens: r.ids.map((x) => `token_id:${x}`), token_logprobs: r.ids.map((x, t) => served(t, x)), top_logprobs: r.ids.map(() => ({})), text_offset: r.ids.map((_, t) => t) }, finish_reason: r.finish, stop_reason: r.stop })),
    };
  });
  vllmUrl = await vllm.listen({ host: '127.0.0.1', port: 0 });

  llama = Fastify();
  llama.get('/v1/models', () => ({ object: 'list', data: [{ id: 'smollm2-135m.gguf', object: 'model', owned_by: 'llamacpp' }] }));
  llama.post('/v1/completions', (req) => {
    const b = req.body as { n?: number };
    // echo, n > 1 and return_tokens_as_token_ids ignored: one choice, generated tokens only, as strings.
    void b;
    return { id: 'chatcmpl-x', object: 'text_completion', created: 0, model: 'smollm2-135m.gguf', system_fingerprint: 'b4501', choices: [{ index: 0, text: ' Ge', finish_reason: 'length', logprobs: { tokens: [' Ge'], token_logprobs: [-0.7], top_logprobs: [{ ' Ge': -0.7 }], text_offset: [0] } }], usage: { completion_tokens: 1, prompt_tokens: 2, total_tokens: 3 } };
  });
  llama.post('/tokenize', (req) => ({ tokens: tokenize((req.body as { content: string }).content) }));
  llamaUrl = await llama.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await vllm?.close();
  await llama?.close();
});

describe('vLLM (mocked): prompt_logprobs scoring and finish reasons', () => {
  it('falls back from echo to prompt_logprobs and scores exactly the log-probs served, picking each token by id', async () => {
    const b = await openaiBackend({ baseURL: vllmUrl, maxRetries: 0 });
    expect(b.info.model).toBe('Qwen/Qwen2.5-0.5B');
    const ys = [[30, 31, 32], [33], [34, 35, 36, 37, 38, 39]];
    const prompt = 'Once upon a time';
    const got = await b.score({ prompt, continuations: ys });
    const pids = tokenize(prompt);
    ys.forEach((y, i) => {
      const want = y.map((id, j) => served(pids.length + j, id));
      expect(got[i]?.tokenLogprobs).toEqual(want);
      expect(got[i]?.logprob).toBeCloseTo(want.reduce((a, x) => a + x, 0), 12);
    });
    // The prompt's ids came from /tokenize (prompt_logprobs has no id for the first token); the scored prompts were prompt + y as ids.
    expect(tokenizeCalls).toBe(1);
    const last = vllmBodies[vllmBodies.length - 1] as { prompt: number[][]; prompt_logprobs: number; max_tokens: number; echo?: boolean };
    expect(last.prompt).toEqual(ys.map((y) => [...pids, ...y]));
    expect(last.prompt_logprobs).toBe(0);
    expect(last.max_tokens).toBe(1);
    expect(last.echo).toBeUndefined();
    expect(vllmBodies.some((x) => x.echo === true)).toBe(true); // echo was tried first, and refused
  });

  it('scores a prompt given as token ids without /tokenize (as prefs sends them)', async () => {
    const b = await openaiBackend({ baseURL: vllmUrl, maxRetries: 0 });
    await b.prepare({ scoring: 'the test' });
    const before = tokenizeCalls;
    const [s] = await b.score({ prompt: [1, 77, 78], continuations: [[79, 80]] });
    expect(s?.tokenLogprobs).toEqual([served(3, 79), served(4, 80)]);
    expect(tokenizeCalls - before).toBe(0);
  });

  it('maps stop + stop_reason null to eos, stop + a stop string to stop, length to length', async () => {
    const b = await openaiBackend({ baseURL: vllmUrl, maxRetries: 0 });
    const r = await b.draw({ prompt: 'x', n: 3, temperature: 1, topP: 1, maxNewTokens: 3, seed: 0, stop: ['\n'] });
    expect(r.rows.map((x) => x.finishReason)).toEqual(['eos', 'stop', 'length']);
    expect(r.rows[0]?.ids).toEqual([40, 41, 2]);
  });
});

describe('llama.cpp server (mocked): what it cannot do, said in one typed line', () => {
  it('drawing: token strings instead of ids', async () => {
    const b = await openaiBackend({ baseURL: llamaUrl, maxRetries: 0 });
    const err = await b.draw({ prompt: 'x', n: 1, temperature: 1, topP: 1, maxNewTokens: 1, seed: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendCapabilityError);
    expect((err as Error).message).toMatch(/^the backend at http:\/\/127\.0\.0\.1:\d+\/v1 returns token strings, not ids \(it ignores return_tokens_as_token_ids\); the harness needs the exact token ids$/);
  });

  it('scoring: no prompt log-probs (echo ignored, no prompt_logprobs), naming what the run needs', async () => {
    const b = await openaiBackend({ baseURL: llamaUrl, maxRetries: 0 });
    const err = await b.prepare({ scoring: 'kl-bon (log π_ref)' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendCapabilityError);
    expect((err as Error).message).toMatch(/^the backend at http:\/\/127\.0\.0\.1:\d+\/v1 returns no prompt log-probs \(echo \+ logprobs with max_tokens 0, or vLLM's prompt_logprobs\), and kl-bon \(log π_ref\) needs log π\(y \| x\) \(KL-BoN, the KL columns, perplexity and DPO\/RPO all do\): score on another backend \(--reference-backend local\)$/);
    await expect(b.score({ prompt: [1, 2], continuations: [[3]] })).rejects.toThrow(/returns no prompt log-probs/);
  });

  it('steering: no /v1/steering/vectors to match vectors against', async () => {
    const b = await openaiBackend({ baseURL: llamaUrl, maxRetries: 0 });
    const joy = SteeringVector.load(join(REPO, 'vectors', 'tinystories-656k', 'joy.json'));
    const err = await b.prepare({ steering: [Steering.of(joy, { strength: 2 })] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendCapabilityError);
    expect((err as Error).message).toMatch(/does not list steering vectors \(GET \/v1\/steering\/vectors is 404\)/);
  });
});
