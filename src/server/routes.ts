/**
 * POST /v1/completions and /v1/chat/completions. Each prompt becomes one
 * scheduler job of n rows; streaming answers are SSE (`data: {json}` chunks,
 * `data: [DONE]` last). A client that goes away cancels its job, whose rows
 * leave the batch at the next step.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HookedModel } from '../model/hooked-model.js';
import type { GenerationRequest, JobEvent, JobResult } from '../serving/job.js';
import type { JobHandle, Scheduler } from '../serving/scheduler.js';
import { errorBody, toApiError } from './errors.js';
import { chatLogprobs, completionLogprobs, finishReason, usage, type TokenText } from './format.js';
import type { Prompt } from './prompt.js';
import type { VectorRegistry } from './registry.js';
import { parseChatRequest, parseCompletionRequest } from './requests.js';

export interface RouteContext {
  model: HookedModel;
  modelName: string;
  scheduler: Scheduler;
  registry: VectorRegistry;
  maxTokens: number;
  fingerprint: string;
}

/** Submits one job per prompt; cancels them all if any submission fails or the client leaves. */
function submitAll(ctx: RouteContext, prompts: readonly Prompt[], make: (p: Prompt) => GenerationRequest, signal: AbortSignal): JobHandle[] {
  const reqs = prompts.map((p) => ({ ...make(p), signal }));
  const jobs: JobHandle[] = [];
  try {
    for (const r of reqs) jobs.push(ctx.scheduler.submit(r));
  } catch (err) {
    for (const j of jobs) j.cancel();
    throw err;
  }
  return jobs;
}

function disconnectSignal(req: FastifyRequest, reply: FastifyReply): AbortController {
  const ac = new AbortController();
  reply.raw.on('close', () => { if (!reply.raw.writableFinished) ac.abort(); });
  req.raw.on('aborted', () => ac.abort());
  return ac;
}

function startStream(reply: FastifyReply): (data: unknown) => void {
  reply.hijack();
  reply.raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  return (data) => { if (!reply.raw.destroyed) reply.raw.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`); };
}

/** Reads every job's events in arrival order. */
async function* merged(jobs: readonly JobHandle[]): AsyncGenerator<{ job: number; ev: JobEvent }> {
  const its = jobs.map((j) => j.events[Symbol.asyncIterator]());
  const pending = new Map<number, Promise<{ i: number; r: IteratorResult<JobEvent> }>>();
  const pull = (i: number) => pending.set(i, (its[i] as AsyncIterator<JobEvent>).next().then((r) => ({ i, r })));
  its.forEach((_, i) => pull(i));
  while (pending.size > 0) {
    const { i, r } = await Promise.race(pending.values());
    if (r.done) { pending.delete(i); continue; }
    pull(i);
    yield { job: i, ev: r.value };
  }
}

export async function completions(ctx: RouteContext, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const { prompts, common, steering, logprobs, echo } = parseCompletionRequest(ctx, req.body);
  const ac = disconnectSignal(req, reply);
  const jobs = submitAll(ctx, prompts, (p) => {
    const i = prompts.indexOf(p);
    const r: GenerationRequest = { ...common, promptIds: p.ids };
    const s = steering[i];
    if (s) r.steering = s;
    if (logprobs !== undefined) r.logprobs = logprobs;
    if (echo && logprobs !== undefined) r.promptLogprobs = logprobs;
    return r;
  }, ac.signal);
  const id = `cmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const tokenText: TokenText = (t) => ctx.model.tokenizer.decode([t], { skipSpecialTokens: false });
  const head = { id, object: 'text_completion', created, model: ctx.modelName, system_fingerprint: ctx.fingerprint };
  const n = common.n;
  if (!common.stream) {
    const results = await Promise.all(jobs.map((j) => j.result));
    reply.send({
      ...head,
      choices: results.flatMap((res, pi) => res.rows.map((row) => {
        const prefix = echo ? (prompts[pi] as Prompt).text : '';
        return {
          index: pi * n + row.index, text: prefix + row.text, finish_reason: finishReason(row.finishReason),
          logprobs: logprobs === undefined ? null : completionLogprobs(echo ? res.prompt : undefined, row.tokens, tokenText, 0, logprobs > 0),
        };
      })),
      usage: usage(results),
    });
    return;
  }
  const send = startStream(reply);
  const results: JobResult[] = [];
  const offsets = new Map<number, number>();
  if (echo) {
    prompts.forEach((p, pi) => { for (let k = 0; k < n; k++) send({ ...head, choices: [{ index: pi * n + k, text: p.text, logprobs: null, finish_reason: null }] }); });
  }
  try {
    for await (const { job, ev } of merged(jobs)) {
      if (ev.type === 'error') throw ev.error;
      if (ev.type === 'done') { results.push(ev.result); continue; }
      const index = job * n + ev.row;
      const at = offsets.get(index) ?? 0;
      const lp = logprobs === undefined ? null : completionLogprobs(undefined, ev.tokens, tokenText, at, logprobs > 0);
      offsets.set(index, at + ev.text.length);
      send({ ...head, choices: [{ index, text: ev.text, logprobs: lp, finish_reason: ev.type === 'finish' ? finishReason(ev.reason) : null }] });
    }
    if (common.includeUsage) send({ ...head, choices: [], usage: usage(results) });
    send('[DONE]');
  } catch (err) {
    send(errorBody(toApiError(err)));
  }
  reply.raw.end();
}

export async function chat(ctx: RouteContext, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const { prompt, common, steering, logprobs: wantLogprobs, topLogprobs: top } = parseChatRequest(ctx, req.body);
  const ac = disconnectSignal(req, reply);
  const [job] = submitAll(ctx, [prompt], (p) => ({
    ...common, promptIds: p.ids,
    ...(steering ? { steering } : {}),
    ...(wantLogprobs ? { logprobs: top ?? 0 } : {}),
  }), ac.signal) as [JobHandle];
  const id = `chatcmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const tokenText: TokenText = (t) => ctx.model.tokenizer.decode([t], { skipSpecialTokens: false });
  const head = { id, created, model: ctx.modelName, system_fingerprint: ctx.fingerprint };
  if (!common.stream) {
    const res = await job.result;
    reply.send({
      ...head, object: 'chat.completion',
      choices: res.rows.map((row) => ({
        index: row.index, message: { role: 'assistant', content: row.text, refusal: null },
        logprobs: wantLogprobs ? chatLogprobs(row.tokens, tokenText) : null, finish_reason: finishReason(row.finishReason),
      })),
      usage: usage([res]),
    });
    return;
  }
  const send = startStream(reply);
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => send({ ...head, object: 'chat.completion.chunk', choices, ...extra });
  for (let k = 0; k < common.n; k++) chunk([{ index: k, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
  try {
    let result: JobResult | undefined;
    for await (const ev of job.events) {
      if (ev.type === 'error') throw ev.error;
      if (ev.type === 'done') { result = ev.result; continue; }
      const lp = wantLogprobs ? chatLogprobs(ev.tokens, tokenText) : null;
      if (ev.type === 'delta') chunk([{ index: ev.row, delta: { content: ev.text }, logprobs: lp, finish_reason: null }]);
      else chunk([{ index: ev.row, delta: ev.text ? { content: ev.text } : {}, logprobs: lp, finish_reason: finishReason(ev.reason) }]);
    }
    if (common.includeUsage && result) chunk([], { usage: usage([result]) });
    send('[DONE]');
  } catch (err) {
    send(errorBody(toApiError(err)));
  }
  reply.raw.end();
}
