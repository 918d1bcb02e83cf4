/**
 * Reading OpenAI request bodies into scheduler requests. Every field is
 * checked; a field the server cannot honour is refused with a 400 naming it,
 * never silently dropped.
 */
import type { GenerationRequest } from '../serving/job.js';
import type { SamplingSpec } from '../serving/sequence.js';
import { InvalidArgumentError } from '../errors.js';
import { checkBoolean, checkNumber, checkTokenIds, httpQuantity, QUANTITIES, type NumberRule, type QuantityName } from '../validate/index.js';
import { badRequest } from './errors.js';

export type Body = Record<string, unknown>;

const COMMON = ['model', 'max_tokens', 'temperature', 'top_p', 'n', 'stop', 'seed', 'stream', 'stream_options', 'user', 'presence_penalty', 'frequency_penalty', 'logit_bias',
  'top_k', 'min_p', 'repetition_penalty', 'ignore_eos', 'stop_token_ids', 'steering', 'metadata'];
export const COMPLETION_KEYS = new Set([...COMMON, 'prompt', 'logprobs', 'echo', 'best_of', 'suffix']);
export const CHAT_KEYS = new Set([...COMMON, 'messages', 'max_completion_tokens', 'logprobs', 'top_logprobs', 'tools', 'tool_choice', 'response_format', 'parallel_tool_calls', 'store']);

export function checkKeys(body: Body, allowed: ReadonlySet<string>): void {
  for (const k of Object.keys(body)) if (!allowed.has(k)) throw badRequest(`unrecognized request argument supplied: ${k}`, k, 'unknown_parameter');
}

/**
 * Runs a check from the shared validation layer (src/validate) on a request
 * field: its InvalidArgumentError becomes a 400 naming the field, so the same
 * mistake reads the same here as in the library and the CLI
 * (`top_p must be a number in (0, 1], got 2`).
 */
export function field<T>(param: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw badRequest(err.message, param);
    throw err;
  }
}

/** A number field checked against `rule` (absent or null: undefined). */
export function num(body: Body, key: string, rule: NumberRule = {}): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  return field(key, () => checkNumber(v, key, rule));
}

/** A field that is one of the shared quantities (QUANTITIES in src/validate/rules.ts). */
export function quantityField(body: Body, name: QuantityName, key = QUANTITIES[name].http): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  return field(key, () => httpQuantity(name, v, key));
}

export function bool(body: Body, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  return field(key, () => checkBoolean(v, key));
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
export function commonRequest(body: Body, maxTokens: number, vocabSize?: number): Omit<GenerationRequest, 'promptIds'> & { n: number; seed: number; stream: boolean; includeUsage: boolean } {
  for (const k of ['presence_penalty', 'frequency_penalty'] as const) {
    const v = num(body, k, { min: -2, max: 2 });
    if (v !== undefined && v !== 0) throw badRequest(`${k} is not supported (use repetition_penalty)`, k, 'unsupported_parameter');
  }
  const bias = body.logit_bias;
  if (bias !== undefined && bias !== null && !(typeof bias === 'object' && Object.keys(bias).length === 0)) throw badRequest('logit_bias is not supported', 'logit_bias', 'unsupported_parameter');
  const temperature = quantityField(body, 'temperature');
  const topP = quantityField(body, 'topP');
  const topK = quantityField(body, 'topK');
  const minP = quantityField(body, 'minP');
  const repetitionPenalty = quantityField(body, 'repetitionPenalty');
  const sampling: Partial<SamplingSpec> = {};
  if (temperature !== undefined) sampling.temperature = temperature;
  if (topP !== undefined) sampling.topP = topP;
  if (topK !== undefined) sampling.topK = topK === -1 ? 0 : topK;
  if (minP !== undefined) sampling.minP = minP;
  if (repetitionPenalty !== undefined) sampling.repetitionPenalty = repetitionPenalty;
  const n = quantityField(body, 'n') ?? 1;
  const seedValue = quantityField(body, 'seed');
  const seed = seedValue ?? Math.floor(Math.random() * 2 ** 32);
  const stream = bool(body, 'stream') ?? false;
  const so = body.stream_options;
  if (so !== undefined && so !== null && (typeof so !== 'object' || Array.isArray(so))) throw badRequest('stream_options must be an object', 'stream_options');
  const includeUsage = so ? (so as Body).include_usage === true : false;
  const stopTokenIds = body.stop_token_ids;
  if (stopTokenIds !== undefined && stopTokenIds !== null) field('stop_token_ids', () => checkTokenIds(stopTokenIds, 'stop_token_ids', vocabSize));
  return {
    n, seed, stream, includeUsage, maxTokens, sampling, stop: stopList(body),
    ...(stopTokenIds ? { stopTokenIds: stopTokenIds as number[] } : {}),
    ...(bool(body, 'ignore_eos') ? { ignoreEos: true } : {}),
  };
}

/** max_tokens (or max_completion_tokens), refused above the server's cap. */
export function maxTokensOf(body: Body, keys: readonly string[], cap: number, fallback: number): number {
  for (const key of keys) {
    const v = quantityField(body, 'maxNewTokens', key);
    if (v === undefined) continue;
    if (v > cap) throw badRequest(`${key} is ${v}, above this server's limit of ${cap}`, key, 'max_tokens_exceeded');
    return v;
  }
  return Math.min(cap, fallback);
}
