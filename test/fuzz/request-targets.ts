/**
 * Fuzz targets for the server's request-body parser (chat and completions,
 * with the `steering` field): the bytes a client sends, parsed as fastify
 * does (JSON.parse; a syntax error is fastify's typed 400), then read by
 * server/requests.ts exactly as the routes do, without running the model.
 * A 4xx ApiError with a one-line message counts as a typed refusal; anything
 * else thrown (a TypeError, a 5xx, a message with a line break) is a finding.
 * Inputs are byte mutations of a seed body and structural ones: a field at a
 * random path replaced by an arbitrary JSON value, or removed.
 */
import fc from 'fast-check';
import { InvalidArgumentError, InvalidDataError } from '../../src/errors.js';
import { readManifest } from '../../src/hooks/manifest.js';
import { TextTokenizer } from '../../src/runtime/tokenizer.js';
import { ApiError } from '../../src/server/errors.js';
import { VectorRegistry } from '../../src/server/registry.js';
import type { Prompt } from '../../src/server/prompt.js';
import { parseChatRequest, parseCompletionRequest, type CommonRequest, type RequestContext } from '../../src/server/requests.js';
import type { Intervention } from '../../src/steering/plan.js';

/** The shape of targets.ts's FuzzTarget (kept structural to avoid an import cycle). */
interface FuzzTarget { name: string; seed: Uint8Array; inputs: fc.Arbitrary<Uint8Array>; parse: (bytes: Uint8Array) => unknown }

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const STEERING: Json = {
  conflict: 'sequential',
  vectors: [
    { source: 'joy', scale: 2, layers: [0], normalize: true, operator: 'add', apply: { prompt_window: [-2, null], generation_window: [0, 4], prompt_positions: [0, -1] } },
    { source: './joy.json', sites: ['blocks.0.hook_resid_post'], operator: 'ablate', scale: 1, apply: { generation: 'all' } },
  ],
};

const CHAT_SEED: Json = {
  model: 'tinystories-656k',
  messages: [{ role: 'system', content: 'Be kind.' }, { role: 'user', content: [{ type: 'text', text: 'Once upon a time' }] }],
  max_completion_tokens: 8, temperature: 0.7, top_p: 0.9, top_k: 40, min_p: 0.05, repetition_penalty: 1.1, n: 2, seed: 7,
  stop: ['\n\n'], stream: true, stream_options: { include_usage: true }, logprobs: true, top_logprobs: 2, steering: STEERING,
};

const COMPLETION_SEED: Json = {
  model: 'tinystories-656k', prompt: ['Once upon a time', 'One day'], max_tokens: 8, echo: true, logprobs: 2, best_of: 2, n: 2,
  stop_token_ids: [0], ignore_eos: false, temperature: 1, seed: 3, steering: STEERING,
};

/** Every path (object keys and array indices) inside a JSON value. */
function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => [[...prefix, i], ...paths(v, [...prefix, i])]);
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [[...prefix, k], ...paths(v, [...prefix, k])]);
  return [];
}

function edited(seed: Json, path: readonly (string | number)[], value: Json | undefined): Json {
  const copy = structuredClone(seed);
  let at: Json = copy;
  for (const key of path.slice(0, -1)) at = (at as Record<string | number, Json>)[key] as Json;
  const last = path[path.length - 1] as string | number;
  if (value === undefined) {
    if (Array.isArray(at)) at.splice(Number(last), 1);
    else delete (at as Record<string, Json>)[last];
  } else (at as Record<string | number, Json>)[last] = value;
  return copy;
}

const NASTY: Json[] = [null, true, '', 'joy', '../joy.json', '/etc/passwd', '\u0000', -1, 0, 0.5, 2 ** 53, -(2 ** 31), 1e308, [], {}, [null], ['joy'], [[0, 1]], { vectors: [] }, 'x'.repeat(2000)];

/** A seed body with one field replaced by an arbitrary JSON value, or removed. */
function structural(seed: Json): fc.Arbitrary<Uint8Array> {
  const all = paths(seed);
  return fc.record({
    path: fc.constantFrom(...all),
    value: fc.oneof(fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>, fc.constantFrom(...NASTY), fc.constant(undefined)),
  }).map(({ path, value }) => new TextEncoder().encode(JSON.stringify(edited(seed, path, value))));
}

/**
 * What an accepted body must come to: prompts of in-vocabulary ids, sane
 * sampling numbers, and interventions the scheduler can apply (finite
 * strengths, integer windows). A violation is thrown untyped, so it is a finding.
 */
function checkAccepted(r: { common: CommonRequest; prompts: Prompt[]; steering: (Intervention[] | undefined)[] }, vocab: number): void {
  const bad = (what: string): never => { throw new Error(`accepted a body with ${what}`); };
  const { n, maxTokens, seed, sampling } = r.common;
  if (!Number.isInteger(n) || n < 1 || n > 128) bad(`n = ${n}`);
  if (!Number.isInteger(maxTokens) || maxTokens < 0 || maxTokens > 64) bad(`maxTokens = ${maxTokens}`);
  if (!Number.isSafeInteger(seed)) bad(`seed = ${seed}`);
  for (const [k, v] of Object.entries(sampling ?? {})) if (typeof v !== 'number' || !Number.isFinite(v)) bad(`${k} = ${String(v)}`);
  for (const p of r.prompts) if (!p.ids.every((id) => Number.isInteger(id) && id >= 0 && id < vocab)) bad('a token id outside the vocabulary');
  for (const ivs of r.steering) {
    for (const iv of ivs ?? []) {
      if (!Number.isFinite(iv.strength ?? 1) || !iv.vector.every(Number.isFinite)) bad('a non-finite steering strength or direction');
      const pos = iv.positions;
      if (typeof pos === 'object' && (!Number.isSafeInteger(pos.start) || pos.start < 0 || (pos.end !== undefined && (!Number.isSafeInteger(pos.end) || pos.end <= pos.start)))) bad(`the window ${JSON.stringify(pos)}`);
    }
  }
}

function asTyped(err: unknown): never {
  if (err instanceof ApiError && err.status < 500 && !err.message.includes('\n')) throw new InvalidArgumentError(err.message);
  throw err;
}

export function requestTargets(modelDir: string, vectorsDir: string, mutated: (seed: Uint8Array) => fc.Arbitrary<Uint8Array>): FuzzTarget[] {
  const tokenizer = TextTokenizer.load(modelDir);
  const manifest = readManifest(modelDir);
  const vocab = manifest.vocabSize ?? Number.MAX_SAFE_INTEGER;
  const ctx: RequestContext = {
    model: { tokenizer, manifest, decode: (ids) => tokenizer.decode(ids) },
    modelName: 'tinystories-656k',
    registry: new VectorRegistry(manifest, { dir: vectorsDir, allowPaths: vectorsDir }),
    maxTokens: 64,
  };
  const body = (bytes: Uint8Array): unknown => {
    try {
      return JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch (err) {
      throw new InvalidDataError(`malformed JSON body: ${(err as Error).message}`);
    }
  };
  const target = (name: string, seed: Json, parse: (raw: unknown) => unknown): FuzzTarget => {
    const bytes = new TextEncoder().encode(JSON.stringify(seed));
    parse(body(bytes)); // the seed is valid (and the tokenizer warm)
    return {
      name, seed: bytes,
      inputs: fc.oneof(mutated(bytes), structural(seed)),
      parse: (b) => { try { return parse(body(b)); } catch (err) { return asTyped(err); } },
    };
  };
  return [
    target('chat request body', CHAT_SEED, (raw) => {
      const r = parseChatRequest(ctx, raw);
      checkAccepted({ common: r.common, prompts: [r.prompt], steering: [r.steering] }, vocab);
      return r;
    }),
    target('completion request body', COMPLETION_SEED, (raw) => {
      const r = parseCompletionRequest(ctx, raw);
      checkAccepted(r, vocab);
      return r;
    }),
  ];
}
