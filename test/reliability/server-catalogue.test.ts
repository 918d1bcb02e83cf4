/**
 * The bad-input catalogue, server part: request bodies as they arrive over
 * HTTP at a server on 127.0.0.1:0. Every row asserts the status code, an
 * OpenAI-shaped error body `{ error: { message, type, param, code } }` with a
 * one-line message naming the problem (and the field, where there is one),
 * and that a client's mistake is never a 5xx.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HookedModel } from '../../src/model/hooked-model.js';
import { loadDefault } from '../helpers/models.js';
import { REPO, tempDir } from '../helpers/paths.js';
import { MODEL, startServer, type Running } from '../server/helpers.js';

const VECTOR = join(REPO, 'vectors', 'tinystories-656k', 'joy.json');
const work = tempDir('onnx-steer-server-catalogue-');
let model: HookedModel;
let running: Running;

beforeAll(async () => {
  model = await loadDefault();
  copyFileSync(VECTOR, join(work.path, 'joy.json'));
  const other = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(VECTOR, 'utf8'))) as { model: { fingerprint: string } };
  other.model.fingerprint = 'f'.repeat(64);
  writeFileSync(join(work.path, 'elsewhere.json'), JSON.stringify(other));
  running = await startServer(model, { vectors: work.path, allowVectorPaths: work.path, bodyLimit: 8192, maxTokens: 64 });
}, 300_000);

afterAll(async () => {
  await running.close();
  await model.dispose();
  work.cleanup();
});

type Body = Record<string, unknown>;
const completion = (extra: Body = {}): Body => ({ model: MODEL, prompt: 'Once', max_tokens: 2, ...extra });
const chat = (extra: Body = {}): Body => ({ model: MODEL, messages: [{ role: 'user', content: 'Once' }], max_tokens: 2, ...extra });
const steer = (spec: Body, extra: Body = {}): Body => completion({ steering: { vectors: [{ source: 'joy', ...spec }] }, ...extra });

interface Row {
  label: string;
  path?: string;
  method?: 'GET' | 'POST';
  /** An object is sent as JSON; a string is sent as is. */
  body?: Body | string;
  headers?: Record<string, string>;
  status: number;
  message: RegExp;
  param?: string;
}

const C = '/v1/completions';
const CHAT = '/v1/chat/completions';

const ROWS: Row[] = [
  // The body itself.
  { label: 'malformed JSON', body: '{"model": ', status: 400, message: /^malformed JSON body/ },
  { label: 'a JSON array as body', body: '[1, 2]', status: 400, message: /the request body must be a JSON object/ },
  { label: 'a JSON string as body', body: '"hello"', status: 400, message: /the request body must be a JSON object/ },
  { label: 'an empty body', body: '', status: 400, message: /the request body is empty/ },
  { label: 'a body that is not JSON', body: 'model=x', headers: { 'content-type': 'text/plain' }, status: 415, message: /must be application\/json/ },
  { label: 'an oversized body', body: JSON.stringify(completion({ prompt: 'x'.repeat(10_000) })), status: 413, message: /the request body is too large/ },
  { label: 'an unknown field', body: completion({ temprature: 1 }), status: 400, message: /unrecognized request argument supplied: temprature/, param: 'temprature' },
  { label: 'no model', body: { prompt: 'x' }, status: 400, message: /model is required/, param: 'model' },
  { label: 'a model as a number', body: completion({ model: 7 }), status: 400, message: /model is required/, param: 'model' },
  { label: 'another model', body: completion({ model: 'gpt-4' }), status: 404, message: /the model "gpt-4" does not exist \(this server serves "tinystories-656k"\)/, param: 'model' },
  // Sampling numbers: the shared rules (src/validate), under the field's name.
  { label: 'temperature above 2', body: completion({ temperature: 3 }), status: 400, message: /^temperature must be a number in \[0, 2\], got 3$/, param: 'temperature' },
  { label: 'temperature as a word', body: completion({ temperature: 'hot' }), status: 400, message: /^temperature must be a number in \[0, 2\], got "hot"$/, param: 'temperature' },
  { label: 'negative temperature', body: completion({ temperature: -0.5 }), status: 400, message: /temperature must be a number in \[0, 2\], got -0.5/, param: 'temperature' },
  { label: 'temperature as a list', body: completion({ temperature: [1] }), status: 400, message: /temperature must be a number in \[0, 2\], got an array/, param: 'temperature' },
  { label: 'top_p of 0', body: completion({ top_p: 0 }), status: 400, message: /^top_p must be a number in \(0, 1\], got 0$/, param: 'top_p' },
  { label: 'top_p above 1', body: completion({ top_p: 1.5 }), status: 400, message: /top_p must be a number in \(0, 1\], got 1.5/, param: 'top_p' },
  { label: 'top_k below -1', body: completion({ top_k: -2 }), status: 400, message: /top_k must be an integer ≥ -1, got -2/, param: 'top_k' },
  { label: 'fractional top_k', body: completion({ top_k: 2.5 }), status: 400, message: /top_k must be an integer ≥ -1, got 2.5/, param: 'top_k' },
  { label: 'min_p above 1', body: completion({ min_p: 2 }), status: 400, message: /min_p must be a number in \[0, 1\], got 2/, param: 'min_p' },
  { label: 'zero repetition_penalty', body: completion({ repetition_penalty: 0 }), status: 400, message: /repetition_penalty must be a number > 0, got 0/, param: 'repetition_penalty' },
  { label: 'n of 0', body: completion({ n: 0 }), status: 400, message: /^n must be an integer in \[1, 128\], got 0$/, param: 'n' },
  { label: 'fractional n', body: completion({ n: 1.5 }), status: 400, message: /n must be an integer in \[1, 128\], got 1.5/, param: 'n' },
  { label: 'n of 1000', body: completion({ n: 1000 }), status: 400, message: /n must be an integer in \[1, 128\], got 1000/, param: 'n' },
  { label: 'n as a string', body: completion({ n: '2' }), status: 400, message: /n must be an integer in \[1, 128\], got "2"/, param: 'n' },
  { label: 'negative max_tokens', body: completion({ max_tokens: -1 }), status: 400, message: /^max_tokens must be an integer ≥ 0, got -1$/, param: 'max_tokens' },
  { label: 'max_tokens above the cap', body: completion({ max_tokens: 100_000 }), status: 400, message: /max_tokens is 100000, above this server's limit of 64/, param: 'max_tokens' },
  { label: 'max_tokens as a string', body: completion({ max_tokens: '10' }), status: 400, message: /max_tokens must be an integer ≥ 0, got "10"/, param: 'max_tokens' },
  { label: 'a fractional seed', body: completion({ seed: 1.5 }), status: 400, message: /^seed must be an integer, got 1.5$/, param: 'seed' },
  { label: 'an unsafe integer seed', body: '{"model": "tinystories-656k", "prompt": "x", "seed": 1e300}', status: 400, message: /seed must be an integer, got 1e\+300/, param: 'seed' },
  { label: 'stream as a word', body: completion({ stream: 'yes' }), status: 400, message: /^stream must be true or false, got "yes"$/, param: 'stream' },
  { label: 'stream_options as a string', body: completion({ stream_options: 'x' }), status: 400, message: /stream_options must be an object/, param: 'stream_options' },
  { label: 'a presence penalty', body: completion({ presence_penalty: 1 }), status: 400, message: /presence_penalty is not supported \(use repetition_penalty\)/, param: 'presence_penalty' },
  { label: 'presence penalty out of range', body: completion({ presence_penalty: 5 }), status: 400, message: /presence_penalty must be a number in \[-2, 2\], got 5/, param: 'presence_penalty' },
  { label: 'a logit bias', body: completion({ logit_bias: { 5: 10 } }), status: 400, message: /logit_bias is not supported/, param: 'logit_bias' },
  { label: 'stop as a number', body: completion({ stop: 5 }), status: 400, message: /stop must be a non-empty string or an array of them/, param: 'stop' },
  { label: 'seventeen stop strings', body: completion({ stop: Array.from({ length: 17 }, (_, i) => `s${i}`) }), status: 400, message: /at most 16 stop strings/, param: 'stop' },
  { label: 'a stop token beyond the vocabulary', body: completion({ stop_token_ids: [99_999] }), status: 400, message: /stop_token_ids\[0\] is not a token id of this model \(an integer in \[0, 2048\)\), got 99999/, param: 'stop_token_ids' },
  { label: 'ignore_eos as a number', body: completion({ ignore_eos: 1 }), status: 400, message: /ignore_eos must be true or false, got 1/, param: 'ignore_eos' },
  // Completions prompts and fields.
  { label: 'a numeric prompt', body: completion({ prompt: 5 }), status: 400, message: /prompt must be a string, an array of strings, an array of token ids/, param: 'prompt' },
  { label: 'an empty prompt list', body: completion({ prompt: [] }), status: 400, message: /prompt must be a string/, param: 'prompt' },
  { label: 'a prompt id beyond the vocabulary', body: completion({ prompt: [1, 99_999] }), status: 400, message: /prompt\[1\] is not a token id of this model \(an integer in \[0, 2048\)\), got 99999/, param: 'prompt' },
  { label: 'a negative prompt id in a batch', body: completion({ prompt: [[1, 2], [-3]] }), status: 400, message: /prompt\[1\]\[0\] is not a token id of this model/, param: 'prompt[1]' },
  { label: 'sixty-five prompts', body: completion({ prompt: Array.from({ length: 65 }, () => 'x') }), status: 400, message: /at most 64 prompts per request/, param: 'prompt' },
  { label: 'logprobs above 20', body: completion({ logprobs: 21 }), status: 400, message: /logprobs must be an integer in \[0, 20\], got 21/, param: 'logprobs' },
  { label: 'best_of differing from n', body: completion({ best_of: 3 }), status: 400, message: /best_of must equal n/, param: 'best_of' },
  { label: 'a suffix', body: completion({ suffix: 'The end.' }), status: 400, message: /suffix is not supported/, param: 'suffix' },
  { label: 'echo as a string', body: completion({ echo: 'true' }), status: 400, message: /echo must be true or false, got "true"/, param: 'echo' },
  // Chat fields.
  { label: 'chat without messages', path: CHAT, body: { model: MODEL }, status: 400, message: /messages must be a non-empty array/, param: 'messages' },
  { label: 'chat with an empty message list', path: CHAT, body: chat({ messages: [] }), status: 400, message: /messages must be a non-empty array/, param: 'messages' },
  { label: 'a message that is a string', path: CHAT, body: chat({ messages: ['hi'] }), status: 400, message: /messages\[0\] must be an object/, param: 'messages[0]' },
  { label: 'an unknown role', path: CHAT, body: chat({ messages: [{ role: 'robot', content: 'x' }] }), status: 400, message: /messages\[0\]\.role must be system, developer, user or assistant/, param: 'messages[0].role' },
  { label: 'numeric content', path: CHAT, body: chat({ messages: [{ role: 'user', content: 5 }] }), status: 400, message: /messages\[0\]\.content must be a string or an array of text parts/, param: 'messages[0].content' },
  { label: 'an image part', path: CHAT, body: chat({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }), status: 400, message: /messages\[0\]\.content must be a string or an array of text parts/, param: 'messages[0].content' },
  { label: 'tools', path: CHAT, body: chat({ tools: [{ type: 'function', function: { name: 'f' } }] }), status: 400, message: /tools are not supported/, param: 'tools' },
  { label: 'a tool choice', path: CHAT, body: chat({ tool_choice: 'required' }), status: 400, message: /tool_choice is not supported/, param: 'tool_choice' },
  { label: 'JSON mode', path: CHAT, body: chat({ response_format: { type: 'json_object' } }), status: 400, message: /only response_format \{"type": "text"\} is supported/, param: 'response_format' },
  { label: 'top_logprobs without logprobs', path: CHAT, body: chat({ top_logprobs: 2 }), status: 400, message: /top_logprobs needs logprobs: true/, param: 'top_logprobs' },
  { label: 'logprobs as a number in chat', path: CHAT, body: chat({ logprobs: 3 }), status: 400, message: /logprobs must be true or false, got 3/, param: 'logprobs' },
  { label: 'negative max_completion_tokens', path: CHAT, body: chat({ max_completion_tokens: -1 }), status: 400, message: /max_completion_tokens must be an integer ≥ 0, got -1/, param: 'max_completion_tokens' },
  { label: 'a completions field in chat', path: CHAT, body: chat({ echo: true }), status: 400, message: /unrecognized request argument supplied: echo/, param: 'echo' },
  // The steering field.
  { label: 'steering as a number', body: completion({ steering: 5 }), status: 400, message: /"steering" must be an object with a "vectors" array/, param: 'steering' },
  { label: 'steering without a vectors array', body: completion({ steering: { vectors: 'joy' } }), status: 400, message: /steering\.vectors must be an array/, param: 'steering.vectors' },
  { label: 'an unknown steering key', body: completion({ steering: { vectors: [], mode: 'x' } }), status: 400, message: /unsupported key "mode" in steering/, param: 'steering.mode' },
  { label: 'an unknown conflict rule', body: completion({ steering: { vectors: [], conflict: 'merge' } }), status: 400, message: /steering\.conflict must be "sequential", "priority" or "error"/, param: 'steering.conflict' },
  { label: 'a vector spec that is a string', body: completion({ steering: { vectors: ['joy'] } }), status: 400, message: /steering\.vectors\[0\] must be an object/, param: 'steering.vectors[0]' },
  { label: 'an unknown vector', body: steer({ source: 'sadness' }), status: 400, message: /unknown steering vector "sadness" \(GET \/v1\/steering\/vectors lists them\)/, param: 'steering.vectors[0].source' },
  { label: 'an empty source', body: steer({ source: '' }), status: 400, message: /steering vector "source" must be a non-empty string/, param: 'steering.vectors[0].source' },
  { label: 'a vector bound to another model', body: steer({ source: 'elsewhere' }), status: 400, message: /steering vector "elsewhere" cannot steer this model/, param: 'steering.vectors[0].source' },
  { label: 'path traversal', body: steer({ source: '../../etc/passwd.json' }), status: 400, message: /must be relative to the allowed directory, without "\.\."/, param: 'steering.vectors[0].source' },
  { label: 'an absolute path', body: steer({ source: '/etc/passwd' }), status: 400, message: /must be relative to the allowed directory/, param: 'steering.vectors[0].source' },
  { label: 'a NUL in a path', body: steer({ source: './joy\u0000.json' }), status: 400, message: /must be relative to the allowed directory/, param: 'steering.vectors[0].source' },
  { label: 'a missing vector file', body: steer({ source: './missing.json' }), status: 400, message: /steering vector file "\.\/missing\.json" not found/, param: 'steering.vectors[0].source' },
  { label: 'an unknown operator', body: steer({ operator: 'multiply' }), status: 400, message: /^steering\.vectors\[0\]\.operator must be add, ablate or ablate-add, got "multiply"$/, param: 'steering.vectors[0].operator' },
  { label: 'an overflowing scale', body: steer({ scale: 1e30 }), status: 400, message: /^steering\.vectors\[0\]\.scale must be a number in \[-1000000, 1000000\], got 1e\+30$/, param: 'steering.vectors[0].scale' },
  { label: 'a scale as a word', body: steer({ scale: 'big' }), status: 400, message: /steering\.vectors\[0\]\.scale must be a number in \[-1000000, 1000000\], got "big"/, param: 'steering.vectors[0].scale' },
  { label: 'normalize as a string', body: steer({ normalize: 'yes' }), status: 400, message: /steering\.vectors\[0\]\.normalize must be true or false, got "yes"/, param: 'steering.vectors[0].normalize' },
  { label: 'a layer the vector lacks', body: steer({ layers: [1] }), status: 400, message: /vector "joy" has no direction for blocks\.1\.hook_resid_post \(it has blocks\.0\.hook_resid_post\)/, param: 'steering.vectors[0].layers' },
  { label: 'an empty layer list', body: steer({ layers: [] }), status: 400, message: /layers must be a non-empty array of layer indices/, param: 'steering.vectors[0].layers' },
  { label: 'a negative layer', body: steer({ layers: [-1] }), status: 400, message: /layers must be a non-empty array of layer indices/, param: 'steering.vectors[0].layers' },
  { label: 'sites that are not names', body: steer({ sites: [3] }), status: 400, message: /sites must be a non-empty array of site names/, param: 'steering.vectors[0].sites' },
  { label: 'an unknown vector key', body: steer({ strength: 2 }), status: 400, message: /unsupported key "strength" in steering\.vectors\[0\]/, param: 'steering.vectors[0].strength' },
  { label: 'apply as a string', body: steer({ apply: 'all' }), status: 400, message: /steering\.vectors\[0\]\.apply must be an object/, param: 'steering.vectors[0].apply' },
  { label: 'an unknown apply key', body: steer({ apply: { everywhere: true } }), status: 400, message: /unsupported key "everywhere" in steering\.vectors\[0\]\.apply/, param: 'steering.vectors[0].apply.everywhere' },
  { label: 'prompt: "some"', body: steer({ apply: { prompt: 'some' } }), status: 400, message: /apply\.prompt must be "all"/, param: 'steering.vectors[0].apply.prompt' },
  { label: 'a fractional window', body: steer({ apply: { prompt_window: [0.5, 2] } }), status: 400, message: /prompt_window must be \[start, end\) with integer bounds/, param: 'steering.vectors[0].apply.prompt_window' },
  { label: 'a three-number window', body: steer({ apply: { prompt_window: [0, 1, 2] } }), status: 400, message: /prompt_window must be \[start, end\) with integer bounds/, param: 'steering.vectors[0].apply.prompt_window' },
  { label: 'a window with a null start', body: steer({ apply: { prompt_window: [null, 2] } }), status: 400, message: /prompt_window must be \[start, end\) with integer bounds/, param: 'steering.vectors[0].apply.prompt_window' },
  { label: 'a window end beyond 2^53', body: steer({ apply: { generation_window: [0, 1e308] } }), status: 400, message: /generation_window must be \[start, end\) with integer bounds/, param: 'steering.vectors[0].apply.generation_window' },
  { label: 'a negative generation window', body: steer({ apply: { generation_window: [-1, 2] } }), status: 400, message: /generation_window bounds must be ≥ 0/, param: 'steering.vectors[0].apply.generation_window' },
  { label: 'a window selecting nothing', body: steer({ apply: { generation_window: [3, 1] } }), status: 400, message: /steering\.vectors\[0\]\.apply selects no positions/, param: 'steering.vectors[0].apply' },
  { label: 'prompt positions as a number', body: steer({ apply: { prompt_positions: 1 } }), status: 400, message: /prompt_positions must be an array/, param: 'steering.vectors[0].apply.prompt_positions' },
  { label: 'fractional prompt positions', body: steer({ apply: { prompt_positions: [0.5] } }), status: 400, message: /prompt_positions must hold integers/, param: 'steering.vectors[0].apply.prompt_positions' },
  { label: 'an ablation over two windows', body: steer({ operator: 'ablate', apply: { prompt_positions: [0], generation_window: [2, 3] } }), status: 400, message: /an ablation takes one contiguous position window/, param: 'steering.vectors[0].apply' },
  { label: 'two vectors on one site, conflict error', body: completion({ steering: { conflict: 'error', vectors: [{ source: 'joy' }, { source: 'joy', scale: 2 }] } }), status: 400, message: /steering\.vectors\[0\] and \[1\] both steer blocks\.0\.hook_resid_post \(conflict: "error"\)/, param: 'steering.conflict' },
  { label: 'a bad operator in chat', path: CHAT, body: chat({ steering: { vectors: [{ source: 'joy', operator: 'x' }] } }), status: 400, message: /operator must be add, ablate or ablate-add, got "x"/, param: 'steering.vectors[0].operator' },
  // Routes.
  { label: 'an unknown route', path: '/v1/embeddings', body: {}, status: 404, message: /no route for POST \/v1\/embeddings/ },
  { label: 'an unknown model id', path: '/v1/models/gpt-4', method: 'GET', status: 404, message: /the model "gpt-4" does not exist/ },
];

describe('bad-input catalogue: server request bodies over HTTP', () => {
  for (const row of ROWS) {
    it(`${row.status}: ${row.label}`, async () => {
      const method = row.method ?? 'POST';
      const res = await fetch(`${running.url}${row.path ?? C}`, {
        method,
        headers: { ...(method === 'POST' ? { 'content-type': 'application/json' } : {}), ...row.headers },
        ...(method === 'POST' ? { body: typeof row.body === 'string' ? row.body : JSON.stringify(row.body) } : {}),
      });
      const json = (await res.json()) as { error?: { message?: unknown; type?: unknown; param?: unknown; code?: unknown } };
      expect(res.status, JSON.stringify(json)).toBe(row.status);
      const error = json.error;
      expect(error, JSON.stringify(json)).toBeDefined();
      expect(Object.keys(error ?? {}).sort()).toEqual(['code', 'message', 'param', 'type']);
      expect(typeof error?.message).toBe('string');
      expect(error?.message).toMatch(row.message);
      expect(error?.message).not.toMatch(/\n|\s+at |TypeError|undefined/);
      expect(error?.type).toBe(row.status === 404 ? 'not_found_error' : 'invalid_request_error');
      expect(typeof error?.code).toBe('string');
      if (row.param !== undefined) expect(error?.param).toBe(row.param);
    });
  }
});

export const SERVER_CATALOGUE_SIZE = ROWS.length;
