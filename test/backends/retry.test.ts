/** The openai backend's retries (the official client's: backoff with jitter, Retry-After), timeouts and one-line errors. */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openaiBackend } from '../../src/backends/openai.js';
import { BackendRequestError, BackendUnreachableError } from '../../src/errors.js';

let app: FastifyInstance;
let url = '';
let failures = 0;
let seen = 0;
let status = 503;

beforeAll(async () => {
  app = Fastify();
  app.get('/v1/models', () => ({ object: 'list', data: [{ id: 'm', object: 'model' }] }));
  app.post('/v1/completions', async (req, reply) => {
    seen++;
    const body = req.body as { n: number; seed: number };
    if (body.seed === 999) { await new Promise((r) => setTimeout(r, 1500)); }
    if (failures > 0) {
      failures--;
      return reply.status(status).header('retry-after-ms', '20').send({ error: { message: 'busy, try again', type: 'server_error', param: null, code: null } });
    }
    return { id: 'c', object: 'text_completion', created: 0, model: 'm', choices: Array.from({ length: body.n }, (_, k) => ({ index: k, text: 'ab', finish_reason: 'length', logprobs: { tokens: ['token_id:5', 'token_id:6'], token_logprobs: [-1, -2] } })) };
  });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => { await app.close(); });

const req = { prompt: 'x', n: 2, temperature: 1, topP: 1, maxNewTokens: 2, seed: 1 };

describe('openai backend retries', () => {
  it('retries 503 and 429 after Retry-After and succeeds', async () => {
    for (const s of [503, 429]) {
      status = s; failures = 2; seen = 0;
      const b = await openaiBackend({ baseURL: url, maxRetries: 3 });
      const r = await b.draw(req);
      expect(seen).toBe(3);
      expect(r.rows.map((x) => x.ids)).toEqual([[5, 6], [5, 6]]);
      expect(r.rows[1]?.logprobs).toEqual([-1, -2]);
    }
  });

  it('gives up after the retries with a one-line typed error carrying the status', async () => {
    status = 503; failures = 5; seen = 0;
    const b = await openaiBackend({ baseURL: url, maxRetries: 1 });
    const err = await b.draw(req).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendRequestError);
    expect((err as BackendRequestError).status).toBe(503);
    expect((err as Error).message).toMatch(/^the backend at http:\/\/127\.0\.0\.1:\d+\/v1 refused a generation request \(HTTP 503\): busy, try again$/);
    expect(seen).toBe(2);
    failures = 0;
  });

  it('times a slow request out', async () => {
    const b = await openaiBackend({ baseURL: url, maxRetries: 0, timeoutMs: 200 });
    const err = await b.draw({ ...req, seed: 999 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnreachableError);
    expect((err as Error).message).toMatch(/a generation request timed out$/);
  });
});
