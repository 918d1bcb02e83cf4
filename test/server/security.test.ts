/** Bad input and operations: 401, 413, 400, 404, 429, path traversal, disconnects, draining. */
import { mkdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HookedModel } from '../../src/model/hooked-model.js';
import { loadDefault } from '../helpers/models.js';
import { tempDir } from '../helpers/paths.js';
import { MODEL, VECTORS, post, startServer, type Running } from './helpers.js';

let model: HookedModel;
let srv: Running;
const tmp = tempDir('onnx-steer-serve-');
const allowed = join(tmp.path, 'allowed');

beforeAll(async () => {
  model = await loadDefault();
  mkdirSync(allowed);
  copyFileSync(join(VECTORS, 'joy.json'), join(allowed, 'mine.json'));
  // A valid vector outside the allowed directory: reaching it would succeed, so a 400 shows it was not used.
  copyFileSync(join(VECTORS, 'joy.json'), join(tmp.path, 'secret.json'));
  srv = await startServer(model, { apiKey: 'sk-test', maxTokens: 64, bodyLimit: 4096, allowVectorPaths: allowed, maxBatch: 1, maxQueue: 1 });
});
afterAll(async () => {
  await srv?.close();
  await model?.dispose();
  tmp.cleanup();
});

const auth = { authorization: 'Bearer sk-test' };
const body = (extra: Record<string, unknown> = {}) => JSON.stringify({ model: MODEL, prompt: 'Once upon a time', max_tokens: 4, temperature: 0, ...extra });

describe('server bad input', () => {
  it('401 without a key or with a wrong one; /health stays open', async () => {
    for (const headers of [{}, { authorization: 'Bearer sk-wrong' }, { authorization: 'sk-test' }] as Record<string, string>[]) {
      const r = await post(srv.url, '/v1/completions', body(), headers);
      expect(r.status).toBe(401);
      expect(r.json.error?.type).toBe('authentication_error');
    }
    expect((await fetch(`${srv.url}/health`)).status).toBe(200);
    expect((await post(srv.url, '/v1/completions', body(), auth)).status).toBe(200);
  });

  it('413 for an oversized body, 400 for malformed JSON, 404 for an unknown model, 400 above the max_tokens cap', async () => {
    const big = await post(srv.url, '/v1/completions', body({ prompt: 'x'.repeat(10_000) }), auth);
    expect(big.status).toBe(413);
    expect(big.json.error?.message).toMatch(/too large/);
    const bad = await post(srv.url, '/v1/completions', '{"model": "tinystories-656k", "prompt": ', auth);
    expect(bad.status).toBe(400);
    expect(bad.json.error?.message).toMatch(/JSON/);
    const unknown = await post(srv.url, '/v1/chat/completions', JSON.stringify({ model: 'gpt-9', messages: [{ role: 'user', content: 'hi' }] }), auth);
    expect(unknown.status).toBe(404);
    expect(unknown.json.error?.code).toBe('model_not_found');
    const cap = await post(srv.url, '/v1/completions', body({ max_tokens: 65 }), auth);
    expect(cap.status).toBe(400);
    expect(cap.json.error?.param).toBe('max_tokens');
    for (const extra of [{ temperature: -1 }, { n: 0 }, { top_p: 0 }, { frequency_penalty: 1 }, { nonsense: true }, { prompt: [] }, { prompt: [999999] }]) {
      const r = await post(srv.url, '/v1/completions', body(extra), auth);
      expect(r.status, JSON.stringify(extra)).toBe(400);
      expect(r.json.error?.message.split('\n')).toHaveLength(1);
    }
  });

  it('vector paths: only under the allowed directory, traversal refused before reading', async () => {
    const ok = await post(srv.url, '/v1/completions', body({ steering: { vectors: [{ source: 'mine.json', scale: 4 }] } }), auth);
    expect(ok.status).toBe(200);
    for (const source of ['../secret.json', 'sub/../../secret.json', join(tmp.path, 'secret.json'), '..\\secret.json']) {
      const r = await post(srv.url, '/v1/completions', body({ steering: { vectors: [{ source, scale: 4 }] } }), auth);
      expect(r.status, source).toBe(400);
    }
  });

  it('429 when the queue is full; the client that leaves frees its row', async () => {
    // Batch of 1 and a queue of 1 row: a long stream runs, one request waits, the third is refused.
    const ac = new AbortController();
    const first = await fetch(`${srv.url}/v1/completions`, { method: 'POST', signal: ac.signal, headers: { 'content-type': 'application/json', ...auth }, body: body({ max_tokens: 64, stream: true, ignore_eos: true }) });
    const reader = (first.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const second = post(srv.url, '/v1/completions', body({ max_tokens: 2 }), auth);
    await new Promise((r) => setTimeout(r, 20));
    const third = await post(srv.url, '/v1/completions', body({ max_tokens: 2 }), auth);
    expect(third.status).toBe(429);
    expect(third.json.error?.type).toBe('rate_limit_error');
    ac.abort();
    expect((await second).status).toBe(200);
    const m = srv.server.scheduler.metrics();
    expect(m.runningRows + m.queuedRows).toBe(0);
    expect(m.generatedTokensTotal).toBeLessThan(64 + 2 + 8 + 2 * 4 + 4);
  });

  it('draining refuses new work with 503 and lets running requests finish', async () => {
    const local = await startServer(model, { maxBatch: 2 });
    const res = await fetch(`${local.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body({ max_tokens: 40, stream: true, ignore_eos: true }) });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = new TextDecoder().decode((await reader.read()).value);
    const stop = local.server.shutdown(5000);
    const refused = await post(local.url, '/v1/completions', body());
    expect(refused.status).toBe(503);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await stop;
    expect(text).toContain('"finish_reason":"length"');
    expect(text.trim().endsWith('data: [DONE]')).toBe(true);
  });
});
