/**
 * Reading OpenAI request bodies into scheduler requests. Every field is
 * checked; a field the server cannot honour is refused with a 400 naming it,
 * never silently dropped.
 */
import type { GenerationRequest } from '../serving/job.js';
import type { SamplingSpec } from '../serving/sequence.js';
import { badRequest } from './errors.js';

export type Body = Record<string, unknown>;

const COMMON = ['model', 'max_tokens', 'temperature', 'top_p', 'n', 'stop', 'seed', 'stream', 'stream_options', 'user', 'presence_penalty', 'frequency_penalty', 'logit_bias',
  'top_k', 'min_p', 'repetition_penalty', 'ignore_eos', 'stop_token_ids', 'steering', 'metadata'];
export const COMPLETION_KEYS = new Set([...COMMON, 'prompt', 'logprobs', 'echo', 'best_of', 'suffix', 'return_tokens_as_token_ids']);
export const CHAT_KEYS = new Set([...COMMON, 'messages', 'max_completion_tokens', 'logprobs', 'top_logprobs', 'tools', 'tool_choice', 'response_format', 'parallel_tool_calls', 'store']);

export function checkKeys(body: Body, allowed: ReadonlySet<string>): void {
  for (const k of Object.keys(body)) if (!allowed.has(k)) throw badRequest(`unrecognized request argument supplied: ${k}`, k, 'unknown_parameter');
}

export function num(body: Body, key: string, opts: { min?: number; max?: number; int?: boolean; exclusiveMin?: boolean } = {}): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || (opts.int && !Number.isInteger(v))) throw badRequest(`${key} must be ${opts.int ? 'an integer' : 'a number'}`, key);
  if (opts.min !== undefined && (opts.exclusiveMin ? v <= opts.min : v < opts.min)) throw badRequest(`${key} must be ${opts.exclusiveMin ? '>' : '≥'} ${opts.min}, got ${v}`, key);
  if (opts.max !== undefined && v > opts.max) throw badRequest(`${key} must be ≤ ${opts.max}, got ${v}`, key);
  return v;
}

export function bool(body: Body, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw badRequest(`${key} must be a boolean`, key);
  return v;
}

export function stopList(body: Body): string[] {
  const v = body.stop;
  if (v === undefined || v === null) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || !list.every((s) => typeof s === 'string' && s.length > 0)) throw badRequest('stop must be a non-empty string or an array of them', 'stop');
  if (list.length > 16) throw badRequest('at most 16 stop strings', 'stop');
  return list as string[];
}

/** Sampling, seed, stop and limits shared by both endpoints. */
export function commonRequest(body: Body, maxTokens: number): Omit<GenerationRequest, 'promptIds'> & { n: number; seed: number; stream: boolean; includeUsage: boolean } {
  for (const k of ['presence_penalty', 'frequency_penalty'] as const) {
    const v = num(body, k, { min: -2, max: 2 });
    if (v !== undefined && v !== 0) throw badRequest(`${k} is not supported (use repetition_penalty)`, k, 'unsupported_parameter');
  }
  const bias = body.logit_bias;
  if (bias !== undefined && bias !== null && !(typeof bias === 'object' && Object.keys(bias).length === 0)) throw badRequest('logit_bias is not supported', 'logit_bias', 'unsupported_parameter');
  const temperature = num(body, 'temperature', { min: 0, max: 2 });
  const topP = num(body, 'top_p', { min: 0, max: 1, exclusiveMin: true });
  const topK = num(body, 'top_k', { int: true, min: -1 });
  const minP = num(body, 'min_p', { min: 0, max: 1 });
  const repetitionPenalty = num(body, 'repetition_penalty', { min: 0, exclusiveMin: true });
  const sampling: Partial<SamplingSpec> = {};
  if (temperature !== undefined) sampling.temperature = temperature;
  if (topP !== undefined) sampling.topP = topP;
  if (topK !== undefined) sampling.topK = topK === -1 ? 0 : topK;
  if (minP !== undefined) sampling.minP = minP;
  if (repetitionPenalty !== undefined) sampling.repetitionPenalty = repetitionPenalty;
  const n = num(body, 'n', { int: true, min: 1, max: 128 }) ?? 1;
  const seedValue = num(body, 'seed', { int: true });
  const seed = seedValue ?? Math.floor(Math.random() * 2 ** 32);
  const stream = bool(body, 'stream') ?? false;
  const so = body.stream_options;
  if (so !== undefined && so !== null && (typeof so !== 'object' || Array.isArray(so))) throw badRequest('stream_options must be an object', 'stream_options');
  const includeUsage = so ? (so as Body).include_usage === true : false;
  const stopTokenIds = body.stop_token_ids;
  if (stopTokenIds !== undefined && (!Array.isArray(stopTokenIds) || !stopTokenIds.every((x) => Number.isInteger(x)))) throw badRequest('stop_token_ids must be an array of token ids', 'stop_token_ids');
  return {
    n, seed, stream, includeUsage, maxTokens, sampling, stop: stopList(body),
    ...(stopTokenIds ? { stopTokenIds: stopTokenIds as number[] } : {}),
    ...(bool(body, 'ignore_eos') ? { ignoreEos: true } : {}),
  };
}

/** max_tokens (or max_completion_tokens), refused above the server's cap. */
export function maxTokensOf(body: Body, keys: readonly string[], cap: number, fallback: number): number {
  for (const key of keys) {
    const v = num(body, key, { int: true, min: 0 });
    if (v === undefined) continue;
    if (v > cap) throw badRequest(`${key} is ${v}, above this server's limit of ${cap}`, key, 'max_tokens_exceeded');
    return v;
  }
  return Math.min(cap, fallback);
}
