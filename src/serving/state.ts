/**
 * A job's lifecycle inside the scheduler: the state it carries from the queue
 * through prefill to its rows in the batch, and how it ends (settled with a
 * result, or failed). Settling is idempotent; a job settles once.
 */
import type { KvCache } from '../runtime/cache.js';
import type { CompiledPlan } from '../steering/compile.js';
import type { RowPlan } from './feeds.js';
import type { EventChannel, FinishedRow, JobEvent, JobResult, PromptTokenInfo } from './job.js';
import { RowState, type RowSpec, type SamplingSpec, type TokenInfo } from './sequence.js';

export interface Job {
  id: number;
  promptIds: number[];
  n: number;
  seeds: number[];
  maxTokens: number;
  sampling: SamplingSpec;
  stop: string[];
  stopIds: Set<number>;
  plan: RowPlan | undefined;
  prefillPlan: CompiledPlan;
  logprobs: number | undefined;
  promptLogprobs: number | undefined;
  channel: EventChannel<JobEvent>;
  resolve: (r: JobResult) => void;
  reject: (e: Error) => void;
  cancelled: boolean;
  settled: boolean;
  prefilled: number;
  cache: KvCache | undefined;
  lastLogits: Float32Array | undefined;
  prompt: PromptTokenInfo[] | undefined;
  spawned: number;
  rows: (RowState | undefined)[];
  finished: number;
  pendingTokens: TokenInfo[][];
  t0: number;
  tAdmit: number | undefined;
  tFirst: number | undefined;
  onAbort?: () => void;
  signal?: AbortSignal;
}

/** What building a row needs beyond the job. */
export interface RowContext {
  vocab: number;
  context: number | undefined;
  decode: (ids: readonly number[]) => string;
}

/** Row `k` of a job (its own seed, same sampling and stopping as its siblings). */
export function newRow(job: Job, k: number, ctx: RowContext): RowState {
  const spec: RowSpec = {
    sampling: job.sampling, seed: job.seeds[k] as number, maxTokens: job.maxTokens, stop: job.stop, stopIds: job.stopIds,
    context: ctx.context, topLogprobs: job.logprobs,
  };
  return new RowState(k, job.promptIds, spec, ctx.vocab, ctx.decode);
}

/** Resolves a job whose rows are all finished (or which never got rows). */
export function settleJob(job: Job, reason: 'cancelled' | 'length' = 'cancelled'): void {
  if (job.settled) return;
  job.settled = true;
  if (job.signal && job.onAbort) job.signal.removeEventListener('abort', job.onAbort);
  const rows: FinishedRow[] = [];
  for (let k = 0; k < job.n; k++) {
    const r = job.rows[k];
    if (!r) {
      rows.push({ index: k, seed: job.seeds[k] as number, ids: [], text: '', tokens: [], finishReason: reason });
      continue;
    }
    if (!r.finish) r.cancel();
    rows.push({ index: k, seed: job.seeds[k] as number, ids: [...r.generated], text: r.text, tokens: r.infos, finishReason: r.finish ?? reason });
  }
  const now = performance.now();
  const result: JobResult = {
    promptIds: job.promptIds,
    ...(job.prompt ? { prompt: job.prompt } : {}),
    rows,
    usage: { promptTokens: job.promptIds.length, completionTokens: rows.reduce((n, r) => n + r.ids.length, 0) },
    timing: { queuedMs: (job.tAdmit ?? now) - job.t0, firstTokenMs: job.tFirst === undefined ? undefined : job.tFirst - job.t0, totalMs: now - job.t0 },
  };
  job.channel.push({ type: 'done', result });
  job.channel.close();
  job.resolve(result);
}

/** Ends a job with an error (its caches are dropped). */
export function failJob(job: Job, err: Error): void {
  if (job.settled) return;
  job.settled = true;
  if (job.signal && job.onAbort) job.signal.removeEventListener('abort', job.onAbort);
  job.cache = undefined;
  job.channel.push({ type: 'error', error: err });
  job.channel.close();
  job.reject(err);
}

/** Rows of `job` not yet in the batch. */
export function unspawnedRows(job: Job): number {
  return job.n - job.spawned;
}
