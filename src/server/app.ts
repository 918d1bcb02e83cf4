/**
 * The OpenAI-compatible steering server on fastify: routes, API-key check
 * (constant time), body-size limit, OpenAI-shaped errors, health and
 * Prometheus-style metrics. `createServer()` returns the app without
 * listening; `startServer()` listens and installs SIGTERM/SIGINT draining.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type { HookedModel } from '../model/hooked-model.js';
import { Scheduler, type SchedulerOptions } from '../serving/scheduler.js';
import { ApiError, errorBody, toApiError } from './errors.js';
import { VectorRegistry } from './registry.js';
import { chat, completions, type RouteContext } from './routes.js';

export interface ServerOptions extends SchedulerOptions {
  /** Name clients put in `model` (default: the model directory's name). */
  modelName?: string;
  /** Steering vectors directory (vectors addressed by file stem). */
  vectors?: string;
  /** Accept vector file paths in requests, resolved only under this directory. */
  allowVectorPaths?: string;
  /** Bearer key required on /v1 routes. */
  apiKey?: string;
  /** Cap on max_tokens per request (default 1024). */
  maxTokens?: number;
  /** Largest request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  logger?: boolean;
}

export interface SteeringServer {
  app: FastifyInstance;
  scheduler: Scheduler;
  registry: VectorRegistry;
  /** Stops accepting, lets in-flight rows finish for up to `graceMs`, cancels the rest and closes. */
  shutdown(graceMs?: number): Promise<void>;
}

function keyCheck(expected: string): (header: string | undefined) => boolean {
  const want = createHash('sha256').update(expected).digest();
  return (header) => {
    const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
    const got = createHash('sha256').update(m?.[1] ?? '').digest();
    return timingSafeEqual(want, got) && m !== null;
  };
}

export function createServer(model: HookedModel, options: ServerOptions = {}): SteeringServer {
  const scheduler = new Scheduler(model, options);
  const registry = new VectorRegistry(model.manifest, { ...(options.vectors ? { dir: options.vectors } : {}), ...(options.allowVectorPaths ? { allowPaths: options.allowVectorPaths } : {}) });
  // The default model's cached build is named <name>-<16 hex of its fingerprint>: clients send <name>.
  const modelName = options.modelName ?? (model.dir.split(/[\\/]/).filter(Boolean).pop() ?? 'model').replace(/-[0-9a-f]{16}$/, '');
  const ctx: RouteContext = { model, modelName, scheduler, registry, maxTokens: options.maxTokens ?? 1024, fingerprint: `fp_${model.manifest.fingerprint.slice(0, 12)}` };
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: options.bodyLimit ?? 1 << 20 });
  // Request bodies are JSON only: a text/plain body is a 415, not a string handed to the routes.
  app.removeContentTypeParser('text/plain');
  const http = { requests: new Map<string, number>() };
  const authorized = options.apiKey ? keyCheck(options.apiKey) : undefined;
  let draining = false;

  app.addHook('onRequest', (req, _reply, done) => {
    if (authorized && req.url.startsWith('/v1/') && !authorized(req.headers.authorization)) {
      done(new ApiError(401, 'invalid or missing API key (send "Authorization: Bearer <key>")', { code: 'invalid_api_key' }));
    } else if (draining && req.url.startsWith('/v1/')) {
      done(new ApiError(503, 'the server is shutting down', { type: 'server_error', code: 'shutting_down' }));
    } else done();
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'other';
    const key = `${route}|${reply.statusCode}`;
    http.requests.set(key, (http.requests.get(key) ?? 0) + 1);
  });
  app.setErrorHandler((err, _req, reply) => {
    const api = toApiError(err);
    if (api.status >= 500) app.log.error(err);
    void reply.status(api.status).send(errorBody(api));
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send(errorBody(new ApiError(404, `no route for ${req.method} ${req.url.split('?')[0] ?? ''}`, { code: 'unknown_route' })));
  });

  app.get('/health', async (_req, reply) => {
    if (draining) return reply.status(503).send({ status: 'draining' });
    return { status: 'ok' };
  });
  app.get('/metrics', async (_req, reply) => {
    const m = scheduler.metrics();
    const lines = [
      '# TYPE onnx_steer_requests_total counter',
      ...[...http.requests].map(([k, v]) => { const [route, status] = k.split('|'); return `onnx_steer_requests_total{route="${route ?? ''}",status="${status ?? ''}"} ${v}`; }),
      '# TYPE onnx_steer_jobs_total counter', `onnx_steer_jobs_total ${m.requestsTotal}`,
      '# TYPE onnx_steer_prompt_tokens_total counter', `onnx_steer_prompt_tokens_total ${m.promptTokensTotal}`,
      '# TYPE onnx_steer_generation_tokens_total counter', `onnx_steer_generation_tokens_total ${m.generatedTokensTotal}`,
      '# TYPE onnx_steer_decode_steps_total counter', `onnx_steer_decode_steps_total ${m.decodeStepsTotal}`,
      '# TYPE onnx_steer_decode_row_steps_total counter', `onnx_steer_decode_row_steps_total ${m.rowStepsTotal}`,
      '# TYPE onnx_steer_prefill_passes_total counter', `onnx_steer_prefill_passes_total ${m.prefillPassesTotal}`,
      '# TYPE onnx_steer_batch_rows gauge', `onnx_steer_batch_rows ${m.runningRows}`,
      '# TYPE onnx_steer_batch_capacity gauge', `onnx_steer_batch_capacity ${m.maxBatch}`,
      '# TYPE onnx_steer_batch_occupancy gauge', `onnx_steer_batch_occupancy ${(m.runningRows / m.maxBatch).toFixed(4)}`,
      '# TYPE onnx_steer_queue_rows gauge', `onnx_steer_queue_rows ${m.queuedRows}`,
      '# TYPE onnx_steer_padding_slots gauge', `onnx_steer_padding_slots ${m.paddingSlots}`,
    ];
    return reply.type('text/plain; version=0.0.4').send(`${lines.join('\n')}\n`);
  });
  app.get('/v1/models', (_req, reply) => reply.send({
    object: 'list',
    data: [{ id: modelName, object: 'model', created: 0, owned_by: 'onnx-steer', max_model_len: model.manifest.maxPositions ?? null }],
  }));
  app.get('/v1/models/:id', (req, reply) => {
    const id = (req.params as { id: string }).id;
    if (id !== modelName) throw new ApiError(404, `the model "${id}" does not exist`, { code: 'model_not_found' });
    return reply.send({ id: modelName, object: 'model', created: 0, owned_by: 'onnx-steer' });
  });
  app.get('/v1/steering/vectors', (_req, reply) => reply.send({ object: 'list', data: registry.list() }));
  app.post('/v1/completions', (req, reply) => completions(ctx, req, reply));
  app.post('/v1/chat/completions', (req, reply) => chat(ctx, req, reply));

  return {
    app, scheduler, registry,
    async shutdown(graceMs = 10_000) {
      draining = true;
      await scheduler.drain(graceMs);
      await app.close();
    },
  };
}
