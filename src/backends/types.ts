/**
 * Generation backends: where candidates are sampled and log π(y | x) is
 * scored. `local` runs a HookedModel in this process; `openai` calls an
 * OpenAI-compatible server (onnx-steer serve, vLLM/EasySteer, llama.cpp's
 * server). Selection, utilities, judges, KL and reports stay in onnx-steer.
 *
 * Seeds: row k of a draw seeded with s uses rowSeed(s, k) (generation/rng.ts),
 * locally and on onnx-steer's server alike (one request of n choices), so a
 * candidate is the same string whichever of the two draws it. Other servers
 * seed as they document (vLLM: one generator per request).
 */
import type { ScoredContinuation } from '../generation/score.js';
import type { HookedModel } from '../model/hooked-model.js';
import type { Intervention } from '../steering/plan.js';
import type { Steering } from '../vectors/steering.js';

/** A Steering (vectors + strengths; goes anywhere) or a raw plan (local backend only). */
export type BackendSteering = Steering | readonly Intervention[];

export interface DrawRequest {
  prompt: string;
  n: number;
  temperature: number;
  topP: number;
  topK?: number;
  maxNewTokens: number;
  seed: number;
  stop?: readonly string[];
  steering?: BackendSteering;
}

export interface DrawnRow {
  index: number;
  seed: number;
  text: string;
  ids: number[];
  /** The local vocabulary of reasons: `eos` (an end-of-sequence token), `stop` (a stop string), `length`; see openai-finish.ts for servers. */
  finishReason: string;
  /** log π(y_t | …) per token under the sampling model's raw logits (steered when steering). */
  logprobs: number[];
}

export interface DrawResult {
  rows: DrawnRow[];
  timing: { totalMs: number; generatedTokens: number; forwardPasses: number };
}

export interface ScoreRequest {
  /** The prompt as text (tokenized by the backend, special tokens added) or as token ids, sent as they are. */
  prompt: string | readonly number[];
  continuations: readonly (readonly number[])[];
  steering?: BackendSteering;
}

export interface BackendInfo {
  kind: 'local' | 'openai';
  /** Identity of the backend in journals and reports: `local:<dir>` or `openai:<base-url>#<model>`. */
  id: string;
  /** Model directory (local) or the served model's name (openai). */
  model: string;
  fingerprint: string | null;
  architecture: string | null;
}

/** What a run needs from a backend, each with the reason shown when it is missing. */
export interface BackendNeeds {
  /** log π(y | x) of given continuations, e.g. "KL-BoN (log π_ref)". */
  scoring?: string;
  /** Steerings the run will send. */
  steering?: readonly BackendSteering[];
  /** Activations for the utility or rewards named here (local backend only). */
  activations?: string;
}

export interface Backend {
  readonly info: BackendInfo;
  /** The in-process model, when there is one: activations can be captured only then. */
  readonly model: HookedModel | undefined;
  /** Fails early, with a typed error, when the backend cannot do what the run needs. */
  prepare(needs: BackendNeeds): Promise<void>;
  draw(request: DrawRequest): Promise<DrawResult>;
  score(request: ScoreRequest): Promise<ScoredContinuation[]>;
}

export function isBackend(x: unknown): x is Backend {
  return typeof x === 'object' && x !== null && 'info' in x && 'draw' in x && 'score' in x && 'prepare' in x;
}
