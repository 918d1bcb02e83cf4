/**
 * The openai backend: an OpenAI-compatible server through the official
 * openai client. Draws are one `/v1/completions` request of n choices
 * (seed, temperature, top_p, max_tokens, stop, logprobs: 0 and
 * `return_tokens_as_token_ids`, so the exact token ids come back); steering
 * travels in the `steering` field (remote-steering.ts); log π(y | x) is
 * scored from prompt log-probs (`echo` + `logprobs` with `max_tokens: 0`, or
 * 1 where 0 is refused, or vLLM's `prompt_logprobs`) of prompt + y sent as
 * token ids. With `prompt_logprobs` (which gives no id for the first prompt
 * token), a text prompt's ids come from the server's `POST /tokenize` (vLLM,
 * llama.cpp); a prompt given as ids is sent as it is. Finish reasons are
 * mapped to the local vocabulary (openai-finish.ts).
 *
 * Retries are the client's own (maxRetries, default 4): connection errors,
 * timeouts, 408/409/429/≥ 500, exponential backoff from 0.5 s to 8 s with
 * jitter, honouring Retry-After. In-flight requests are bounded by
 * `concurrency` (p-limit).
 */
import OpenAI from 'openai';
import pLimit, { type LimitFunction } from 'p-limit';
import { BackendCapabilityError, BackendRequestError, InvalidArgumentError } from '../errors.js';
import type { ScoredContinuation } from '../generation/score.js';
import { rowSeed } from '../math/rng.js';
import { Steering } from '../vectors/steering.js';
import { backendError } from './openai-errors.js';
import { requireActivations } from './local.js';
import { matchVectors, steeringField, type ListedVector } from './remote-steering.js';
import type { Backend, BackendInfo, BackendNeeds, BackendSteering, DrawRequest, DrawResult, ScoreRequest } from './types.js';
import { choiceTokens, type Choice } from './openai-parse.js';
import { localFinishReason } from './openai-finish.js';

export interface OpenAIBackendOptions {
  /** `http://host:port` or `http://host:port/v1`. */
  baseURL: string;
  /** Served model name (default: the only one GET /v1/models lists). */
  model?: string;
  /** Default: ONNX_STEER_API_KEY, then OPENAI_API_KEY. */
  apiKey?: string;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** Per request, in ms (default 120 000). */
  timeoutMs?: number;
  /** Client retries (default 4). */
  maxRetries?: number;
  /** End-of-sequence ids of the served model, when known locally: tell `eos` from `stop` finishes (openai-finish.ts). */
  eosIds?: readonly number[];
}

const SCORE_CHUNK = 32;

export function normalizeBaseURL(url: string): string {
  let u: URL;
  try { u = new URL(url); } catch { throw new InvalidArgumentError(`backend URL "${url}" is not a URL (expected http://host:port[/v1])`); }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidArgumentError(`backend URL "${url}" must be http or https`);
  const base = u.toString().replace(/\/+$/, '');
  return base.endsWith('/v1') ? base : `${base}/v1`;
}

class OpenAIBackend implements Backend {
  readonly info: BackendInfo;
  readonly model = undefined;
  private readonly limit: LimitFunction;
  private readonly prompts = new Map<string, Promise<number[]>>();
  private readonly names = new Map<string, string>();
  private listed: Promise<ListedVector[]> | undefined;
  private scoringMode: 'echo' | 'prompt_logprobs' | undefined;
  private minTokens = 0;
  private scoringWhy: string | undefined;
  private readonly eosIds: ReadonlySet<number> | undefined;

  constructor(private readonly client: OpenAI, readonly url: string, modelName: string, concurrency: number, eosIds?: readonly number[]) {
    this.eosIds = eosIds && eosIds.length > 0 ? new Set(eosIds) : undefined;
    this.info = { kind: 'openai', id: `openai:${url}#${modelName}`, model: modelName, fingerprint: null, architecture: null };
    this.limit = pLimit(concurrency);
  }

  private async call<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await this.limit(f);
    } catch (err) {
      throw backendError(err, this.url, what);
    }
  }

  private completion(what: string, body: Record<string, unknown>): Promise<{ choices: Choice[]; usage?: { completion_tokens?: number; prompt_tokens?: number } }> {
    return this.call(what, () => this.client.completions.create({ model: this.info.model, ...body } as never) as unknown as Promise<{ choices: Choice[] }>);
  }

  async prepare(needs: BackendNeeds): Promise<void> {
    if (needs.activations) requireActivations(this, needs.activations);
    for (const s of needs.steering ?? []) await this.steeringNames(s);
    if (needs.scoring) { this.scoringWhy = needs.scoring; await this.promptIds('Once upon a time', needs.scoring); }
  }

  private async steeringNames(s: BackendSteering | undefined): Promise<void> {
    if (!(s instanceof Steering) || s.empty) return;
    this.listed ??= this.call('GET /v1/steering/vectors', () => this.client.get('/steering/vectors') as Promise<{ data?: ListedVector[] }>)
      .then((r) => r.data ?? [])
      .catch((err: unknown) => {
        this.listed = undefined;
        if (err instanceof BackendRequestError && err.status === 404) throw new BackendCapabilityError('steering', `the backend at ${this.url} does not list steering vectors (GET /v1/steering/vectors is 404), so local vector files cannot be matched to server names; steer with onnx-steer serve --vectors <dir>`);
        throw err;
      });
    for (const [k, v] of matchVectors(s, await this.listed, `the backend at ${this.url}`)) this.names.set(k, v);
  }

  async draw(r: DrawRequest): Promise<DrawResult> {
    await this.steeringNames(r.steering);
    const steering = steeringField(r.steering, this.names, `the backend at ${this.url}`);
    const t = performance.now();
    const res = await this.completion('a generation request', {
      prompt: r.prompt, n: r.n, temperature: r.temperature, top_p: r.topP, max_tokens: r.maxNewTokens, seed: r.seed,
      logprobs: 0, return_tokens_as_token_ids: true,
      ...(r.topK !== undefined && r.topK > 0 ? { top_k: r.topK } : {}),
      ...(r.stop && r.stop.length > 0 ? { stop: [...r.stop] } : {}),
      ...(steering ? { steering } : {}),
    });
    const choices = [...res.choices].sort((a, b) => a.index - b.index);
    if (choices.length !== r.n) throw new BackendRequestError(`the backend at ${this.url} returned ${choices.length} choices for n = ${r.n}`, null);
    const rows = choices.map((c, k) => {
      const { ids, logprobs } = choiceTokens(c, this.url);
      const finishReason = localFinishReason({ finishReason: c.finish_reason, ...('stop_reason' in c ? { stopReason: c.stop_reason } : {}), ids, stop: r.stop, eosIds: this.eosIds }, this.url, k);
      return { index: k, seed: rowSeed(r.seed, k), text: c.text, ids, finishReason, logprobs: logprobs.map((x) => x ?? Number.NaN) };
    });
    return { rows, timing: { totalMs: performance.now() - t, generatedTokens: res.usage?.completion_tokens ?? rows.reduce((s, x) => s + x.ids.length, 0), forwardPasses: 0 } };
  }

  /** Prompt logprobs of token-id prompts; switches to max_tokens 1 or prompt_logprobs when the server needs it. */
  private async promptLogprobs(prompts: number[][] | string, extra: Record<string, unknown>, why: string): Promise<{ choices: Choice[]; promptTokens: number | undefined }> {
    for (;;) {
      const mode = this.scoringMode ?? 'echo';
      const body = mode === 'echo'
        ? { prompt: prompts, max_tokens: this.minTokens, echo: true, logprobs: 0, return_tokens_as_token_ids: true, temperature: 0, ...extra }
        : { prompt: prompts, max_tokens: Math.max(1, this.minTokens), prompt_logprobs: 0, logprobs: 0, return_tokens_as_token_ids: true, temperature: 0, ...extra };
      let res: { choices: Choice[]; usage?: { prompt_tokens?: number } };
      try {
        res = await this.completion('a scoring request', body);
      } catch (err) {
        if (err instanceof BackendRequestError && err.status === 400 && /max_tokens/.test(err.message) && this.minTokens === 0) { this.minTokens = 1; continue; }
        if (err instanceof BackendRequestError && err.status === 400 && mode === 'echo' && this.scoringMode === undefined && /echo|prompt_logprobs|logprobs/.test(err.message)) { this.scoringMode = 'prompt_logprobs'; continue; }
        if (err instanceof BackendRequestError && err.status === 400 && this.scoringMode === undefined) throw this.cannotScore(why, err);
        throw err;
      }
      const choices = [...res.choices].sort((a, b) => a.index - b.index);
      const scored = choices.length === (typeof prompts === 'string' ? 1 : prompts.length) && choices.every((c) => choiceTokens(c, this.url, { prompt: true, mode }).promptOk);
      if (scored) { this.scoringMode = mode; return { choices, promptTokens: res.usage?.prompt_tokens }; }
      if (this.scoringMode === undefined && mode === 'echo') { this.scoringMode = 'prompt_logprobs'; continue; }
      throw this.cannotScore(why);
    }
  }

  private cannotScore(why: string, cause?: unknown, detail?: string): BackendCapabilityError {
    const what = detail ?? 'returns no prompt log-probs (echo + logprobs with max_tokens 0, or vLLM\'s prompt_logprobs)';
    return new BackendCapabilityError('scoring', `the backend at ${this.url} ${what}, and ${why} needs log π(y | x) (KL-BoN, the KL columns, perplexity and DPO/RPO all do): score on another backend (--reference-backend local)`, { cause });
  }

  private promptIds(prompt: string, why: string): Promise<number[]> {
    let p = this.prompts.get(prompt);
    if (!p) {
      p = this.promptLogprobs(prompt, {}, why).then(async ({ choices, promptTokens }) => {
        if (this.scoringMode === 'prompt_logprobs') return this.tokenize(prompt, why);
        let ids = choiceTokens(choices[0] as Choice, this.url, { prompt: true, mode: this.scoringMode ?? 'echo' }).promptIds;
        // Echo with max_tokens 1 lists the generated token after the prompt's.
        if (this.minTokens > 0 && this.scoringMode === 'echo') ids = ids.slice(0, promptTokens ?? ids.length - this.minTokens);
        if (ids.length === 0 || ids.some((x) => !Number.isInteger(x))) throw this.cannotScore(why);
        return ids;
      });
      p.catch(() => this.prompts.delete(prompt));
      this.prompts.set(prompt, p);
    }
    return p;
  }

  /** A text prompt's ids from POST /tokenize at the server's root (vLLM: {tokens}; llama.cpp: {tokens} from {content}). */
  private async tokenize(prompt: string, why: string): Promise<number[]> {
    const root = this.url.replace(/\/v1$/, '');
    const res = await this.call('POST /tokenize', () => this.client.post(`${root}/tokenize`, { body: { model: this.info.model, prompt, content: prompt, add_special_tokens: true } }) as Promise<{ tokens?: unknown }>)
      .catch((err: unknown) => { throw err instanceof BackendRequestError && err.status === 404 ? this.cannotScore(why, err, 'it answers prompt_logprobs but has no POST /tokenize for the prompt\'s ids') : err; });
    const ids = res.tokens;
    if (!Array.isArray(ids) || ids.length === 0 || !ids.every((x) => Number.isInteger(x))) throw this.cannotScore(why, undefined, 'POST /tokenize returned no token ids');
    return ids as number[];
  }

  async score(r: ScoreRequest): Promise<ScoredContinuation[]> {
    const why = this.scoringWhy ?? 'scoring';
    if (typeof r.prompt !== 'string' && r.prompt.length === 0) throw new InvalidArgumentError('score() needs a non-empty prompt');
    const pids = typeof r.prompt === 'string' ? await this.promptIds(r.prompt, why) : [...r.prompt];
    await this.steeringNames(r.steering);
    const steering = steeringField(r.steering, this.names, `the backend at ${this.url}`, pids.length);
    const out: ScoredContinuation[] = r.continuations.map((c) => ({ ids: [...c], tokenLogprobs: [], logprob: 0 }));
    const todo = r.continuations.map((c, i) => i).filter((i) => (r.continuations[i] as readonly number[]).length > 0);
    const chunks: number[][] = [];
    for (let i = 0; i < todo.length; i += SCORE_CHUNK) chunks.push(todo.slice(i, i + SCORE_CHUNK));
    await Promise.all(chunks.map(async (rows) => {
      const { choices } = await this.promptLogprobs(rows.map((i) => [...pids, ...(r.continuations[i] as readonly number[])]), steering ? { steering } : {}, why);
      rows.forEach((i, k) => {
        const c = r.continuations[i] as readonly number[];
        const sent = [...pids, ...c];
        const got = choiceTokens(choices[k] as Choice, this.url, { prompt: true, mode: this.scoringMode ?? 'echo', sent });
        if (this.scoringMode === 'echo' && got.promptIds.slice(0, sent.length).some((x, t) => x !== sent[t])) throw new BackendRequestError(`the backend at ${this.url} echoed other token ids than the ones sent for scoring`, null);
        const lp = got.promptLogprobs.slice(pids.length, pids.length + c.length);
        if (lp.length !== c.length || lp.some((x) => x === null)) throw this.cannotScore(why);
        const row = out[i] as ScoredContinuation;
        row.tokenLogprobs = lp as number[];
        row.logprob = row.tokenLogprobs.reduce((a, b) => a + b, 0);
      });
    }));
    return out;
  }
}

/** Connects to an OpenAI-compatible server and checks that it serves the model. */
export async function openaiBackend(o: OpenAIBackendOptions): Promise<Backend> {
  const url = normalizeBaseURL(o.baseURL);
  const concurrency = o.concurrency ?? 4;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new InvalidArgumentError(`concurrency must be an integer ≥ 1, got ${concurrency}`);
  const client = new OpenAI({
    baseURL: url, apiKey: o.apiKey ?? process.env.ONNX_STEER_API_KEY ?? process.env.OPENAI_API_KEY ?? 'none',
    maxRetries: o.maxRetries ?? 4, timeout: o.timeoutMs ?? 120_000,
  });
  let ids: string[];
  try {
    ids = (await client.models.list()).data.map((m) => m.id);
  } catch (err) {
    throw backendError(err, url, 'GET /v1/models');
  }
  const model = o.model ?? (ids.length === 1 ? ids[0] : undefined);
  if (model === undefined) throw new BackendCapabilityError('model', `the backend at ${url} serves ${ids.length === 0 ? 'no models' : `several models (${ids.join(', ')})`}: name one with --backend-model`);
  if (!ids.includes(model)) throw new BackendCapabilityError('model', `the backend at ${url} does not serve "${model}" (GET /v1/models lists ${ids.join(', ') || 'nothing'})`);
  return new OpenAIBackend(client, url, model, concurrency, o.eosIds);
}
