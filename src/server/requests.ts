/**
 * Request bodies → what the scheduler runs, for both endpoints. Pure: no
 * I/O, no model run, only the tokenizer and the manifest, so the same code
 * serves the routes and the request-body fuzzer. Every mistake is a 4xx
 * ApiError with a one-line message naming the field.
 */
import type { Intervention } from '../steering/plan.js';
import { ApiError, badRequest } from './errors.js';
import { CHAT_KEYS, COMPLETION_KEYS, bool, checkKeys, commonRequest, maxTokensOf, num, type Body } from './params.js';
import { chatMessages, chatPrompt, completionPrompts, type Prompt, type PromptModel } from './prompt.js';
import type { VectorRegistry } from './registry.js';
import { parseSteering } from './steering.js';

/** What request parsing needs of the served model. */
export type RequestModel = PromptModel;

export interface RequestContext {
  model: RequestModel;
  modelName: string;
  registry: VectorRegistry;
  maxTokens: number;
}

export type CommonRequest = ReturnType<typeof commonRequest>;

export interface CompletionRequest { prompts: Prompt[]; common: CommonRequest; steering: (Intervention[] | undefined)[]; logprobs?: number; echo: boolean }
export interface ChatRequest { prompt: Prompt; common: CommonRequest; steering?: Intervention[]; logprobs: boolean; topLogprobs?: number }

export function bodyOf(raw: unknown): Body {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw badRequest('the request body must be a JSON object');
  return raw as Body;
}

function checkModel(ctx: RequestContext, body: Body): void {
  if (typeof body.model !== 'string' || body.model.length === 0) throw badRequest('model is required', 'model');
  if (body.model !== ctx.modelName) throw new ApiError(404, `the model "${body.model}" does not exist (this server serves "${ctx.modelName}")`, { param: 'model', code: 'model_not_found' });
}

export function parseCompletionRequest(ctx: RequestContext, raw: unknown): CompletionRequest {
  const body = bodyOf(raw);
  checkKeys(body, COMPLETION_KEYS);
  checkModel(ctx, body);
  if (body.suffix !== undefined && body.suffix !== null && body.suffix !== '') throw badRequest('suffix is not supported', 'suffix', 'unsupported_parameter');
  const prompts = completionPrompts(ctx.model, body.prompt);
  const maxTokens = maxTokensOf(body, ['max_tokens'], ctx.maxTokens, 16);
  const common = commonRequest(body, maxTokens, ctx.model.manifest.vocabSize);
  const bestOf = num(body, 'best_of', { integer: true, min: 1 });
  if (bestOf !== undefined && bestOf !== common.n) throw badRequest('best_of must equal n (ranking candidates is left to the client)', 'best_of', 'unsupported_parameter');
  const logprobs = num(body, 'logprobs', { integer: true, min: 0, max: 20 });
  const echo = bool(body, 'echo') ?? false;
  const steering = prompts.map((p) => parseSteering(body.steering, ctx.registry, p.ids.length));
  return { prompts, common, steering, echo, ...(logprobs !== undefined ? { logprobs } : {}) };
}

export function parseChatRequest(ctx: RequestContext, raw: unknown): ChatRequest {
  const body = bodyOf(raw);
  checkKeys(body, CHAT_KEYS);
  checkModel(ctx, body);
  if (Array.isArray(body.tools) && body.tools.length > 0) throw badRequest('tools are not supported', 'tools', 'unsupported_parameter');
  if (body.tool_choice !== undefined && body.tool_choice !== null && body.tool_choice !== 'none' && body.tool_choice !== 'auto') throw badRequest('tool_choice is not supported', 'tool_choice', 'unsupported_parameter');
  const rf = body.response_format as { type?: unknown } | undefined | null;
  if (rf && rf.type !== 'text') throw badRequest('only response_format {"type": "text"} is supported', 'response_format', 'unsupported_parameter');
  const prompt = chatPrompt(ctx.model, chatMessages(body.messages));
  const context = ctx.model.manifest.maxPositions ?? ctx.model.manifest.cache.maxLength;
  const maxTokens = maxTokensOf(body, ['max_completion_tokens', 'max_tokens'], ctx.maxTokens, context === undefined ? ctx.maxTokens : Math.max(1, context - prompt.ids.length));
  const common = commonRequest(body, maxTokens, ctx.model.manifest.vocabSize);
  const logprobs = bool(body, 'logprobs') ?? false;
  const top = num(body, 'top_logprobs', { integer: true, min: 0, max: 20 });
  if (top !== undefined && !logprobs) throw badRequest('top_logprobs needs logprobs: true', 'top_logprobs');
  const steering = parseSteering(body.steering, ctx.registry, prompt.ids.length);
  return { prompt, common, logprobs, ...(steering ? { steering } : {}), ...(top !== undefined ? { topLogprobs: top } : {}) };
}
