/**
 * A submitted request as the scheduler tracks it: its prompt, rows, prompt
 * cache while rows are still to be spawned, and the event stream the caller
 * reads. Events are buffered, so a slow reader never blocks the batch.
 */
import type { Intervention } from '../steering/plan.js';
import type { RowFinish, SamplingSpec, TokenInfo, TopLogprob } from './sequence.js';

export interface GenerationRequest {
  promptIds: readonly number[];
  /** Rows (candidates) sharing the prompt; row k is seeded with rowSeed(seed, k). Default 1. */
  n?: number;
  /** Tokens to generate per row; 0 scores the prompt only. */
  maxTokens: number;
  sampling?: Partial<SamplingSpec>;
  /** Default 0. */
  seed?: number;
  /** Explicit per-row seeds (overrides `seed`). */
  seeds?: readonly number[];
  stop?: readonly string[];
  /** Extra token ids that end a row. */
  stopTokenIds?: readonly number[];
  /** Keep generating past EOS. */
  ignoreEos?: boolean;
  /** Interventions applied to every row of the request. */
  steering?: readonly Intervention[];
  /** Keep per-token logprobs with this many alternatives (0 = chosen token only). */
  logprobs?: number;
  /** Also score the prompt tokens (log π(x_t | x_<t)), with this many alternatives. */
  promptLogprobs?: number;
  signal?: AbortSignal;
}

export interface PromptTokenInfo { id: number; logprob: number | null; top?: TopLogprob[] }

export interface FinishedRow {
  index: number;
  seed: number;
  ids: number[];
  text: string;
  tokens: TokenInfo[];
  finishReason: RowFinish;
}

export interface JobResult {
  promptIds: number[];
  /** Present when promptLogprobs was requested; the first token has no logprob. */
  prompt?: PromptTokenInfo[];
  rows: FinishedRow[];
  usage: { promptTokens: number; completionTokens: number };
  timing: { queuedMs: number; firstTokenMs: number | undefined; totalMs: number };
}

export type JobEvent =
  | { type: 'delta'; row: number; text: string; tokens: TokenInfo[] }
  | { type: 'finish'; row: number; reason: RowFinish; text: string; tokens: TokenInfo[] }
  | { type: 'done'; result: JobResult }
  | { type: 'error'; error: Error };

/** An unbounded single-reader event channel. */
export class EventChannel<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiter: ((r: IteratorResult<T>) => void) | undefined;
  private closed = false;

  push(item: T): void {
    if (this.closed) return;
    const w = this.waiter;
    if (w) { this.waiter = undefined; w({ value: item, done: false }); } else this.items.push(item);
  }

  close(): void {
    this.closed = true;
    const w = this.waiter;
    if (w) { this.waiter = undefined; w({ value: undefined, done: true }); }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const item = this.items.shift();
        if (item !== undefined) return Promise.resolve({ value: item, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => { this.waiter = resolve; });
      },
      return: () => {
        this.items.length = 0;
        this.closed = true;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
