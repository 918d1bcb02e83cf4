/**
 * Prefill interleaving: a job leaves the waiting queue when the batch has
 * room for its rows, and its prompt is run in chunks of at most `chunk`
 * tokens between decode steps. Each scheduler step spends a budget of one
 * chunk's worth of prompt tokens (several short prompts fit in one budget),
 * so the running batch never waits for more than about one chunk; while
 * nothing is decoding, every job that has room is prefilled before the first
 * step, so requests that arrive together start together. Chunk boundaries
 * depend on the prompt only, never on the batch, so a prompt's cache is the
 * same whatever else is queued. A job whose prompt is done waits in `ready`
 * with its one-row cache and the last position's logits until its rows can
 * join the batch.
 */
import { InvalidArgumentError } from '../errors.js';
import { logSoftmaxAt } from '../generation/sampler.js';
import type { KvCache } from '../runtime/cache.js';
import type { ModelRunner } from '../runtime/runner.js';
import type { PromptTokenInfo } from './job.js';
import type { Counters } from './metrics.js';
import type { WaitingQueue } from './queue.js';
import { topLogprobs } from './sequence.js';
import { newRow, settleJob, unspawnedRows, type Job, type RowContext } from './state.js';

export class Prefiller {
  private readonly runner: ModelRunner;
  private readonly counters: Counters;
  private readonly chunk: number;
  private readonly rowContext: RowContext;
  /** The job whose prompt is being run. */
  current: Job | undefined;
  /** Prefilled jobs whose rows are not all in the batch yet, oldest first. */
  readonly ready: Job[] = [];

  constructor(runner: ModelRunner, counters: Counters, chunk: number, rowContext: RowContext) {
    this.runner = runner;
    this.counters = counters;
    this.chunk = chunk;
    this.rowContext = rowContext;
  }

  get busy(): boolean { return this.current !== undefined || this.ready.length > 0; }

  /** Rows of prefilling and ready jobs still to join the batch. */
  get waitingRows(): number {
    let n = this.current?.n ?? 0;
    for (const j of this.ready) n += unspawnedRows(j);
    return n;
  }

  /** Rows of ready jobs still to join the batch. */
  get readyRows(): number {
    let n = 0;
    for (const j of this.ready) n += unspawnedRows(j);
    return n;
  }

  /**
   * Prefill work for one scheduler step: chunks of queued and prefilling
   * jobs while the step's budget lasts (one chunk's worth of tokens when
   * `running` rows are decoding, unbounded while none are). Returns the
   * prompt tokens run.
   */
  async step(queue: WaitingQueue, running: number, maxBatch: number): Promise<number> {
    let budget = running > 0 ? this.chunk : Infinity;
    let spent = 0;
    for (;;) {
      const next = this.nextChunk(queue, running, maxBatch);
      if (next === 0 || (spent > 0 && next > budget)) return spent;
      // Each call runs a chunk or removes a cancelled job, so this ends.
      const used = await this.advance(queue, running, maxBatch);
      spent += used;
      budget -= used;
    }
  }

  /** Tokens the next advance() would run (0: nothing to do). */
  private nextChunk(queue: WaitingQueue, running: number, maxBatch: number): number {
    const job = this.current ?? (running + this.readyRows < maxBatch ? queue.peek() : undefined);
    if (!job) return 0;
    return Math.min(this.chunk, job.promptIds.length - job.prefilled);
  }

  /**
   * Advances the prefill of one job by one chunk, first taking the next
   * queued job when none is prefilling and `running` + ready rows leave room
   * in a batch of `maxBatch`. Returns the prompt tokens run (0 when the step
   * only settled cancelled jobs, or had nothing to do).
   */
  async advance(queue: WaitingQueue, running: number, maxBatch: number): Promise<number> {
    if (!this.current) {
      while (queue.peek()?.cancelled) settleJob(queue.shift() as Job);
      if (queue.length === 0 || running + this.readyRows >= maxBatch) return 0;
      const next = queue.shift();
      if (!next) return 0;
      next.tAdmit = performance.now();
      next.cache = this.runner.emptyCache(1);
      this.current = next;
    }
    const job = this.current;
    if (job.cancelled) {
      this.current = undefined;
      job.cache = undefined;
      settleJob(job);
      return 0;
    }
    const P = job.promptIds.length;
    const start = job.prefilled;
    const len = Math.min(this.chunk, P - start);
    const ids = job.promptIds.slice(start, start + len);
    const out = await this.runner.forward({
      ids, batch: 1, seqLen: len, cache: job.cache as KvCache,
      hookFeeds: job.prefillPlan.feeds({ starts: [start], promptLengths: [P], seqLen: len }),
    });
    this.counters.prefillPassesTotal++;
    const logits = out.logits;
    if (!logits) throw new InvalidArgumentError('this model has no logits output; it cannot generate');
    const V = this.rowContext.vocab;
    if (job.promptLogprobs !== undefined) scorePrompt(job, logits.data, start, len, V, job.promptLogprobs);
    job.cache = out.cache;
    job.prefilled += len;
    if (job.prefilled < P) return len;
    this.current = undefined;
    this.counters.promptTokensTotal += P;
    job.lastLogits = logits.data.slice((len - 1) * V, len * V);
    if (job.maxTokens === 0 || job.cancelled) {
      job.cache = undefined;
      for (let k = 0; k < job.n; k++) job.rows[k] = newRow(job, k, this.rowContext);
      for (const r of job.rows) r?.cancel();
      settleJob(job, job.cancelled ? 'cancelled' : 'length');
      return len;
    }
    this.ready.push(job);
    return len;
  }

  /** Forgets every job (their caches are dropped); returns them. */
  clear(): Job[] {
    const jobs = [...this.ready, ...(this.current ? [this.current] : [])];
    for (const j of jobs) j.cache = undefined;
    this.ready.length = 0;
    this.current = undefined;
    return jobs;
  }
}

/** Appends log π(x_{t+1} | x_≤t) for the chunk's positions to the job's prompt scores. */
function scorePrompt(job: Job, logits: Float32Array, start: number, len: number, V: number, top: number): void {
  const P = job.promptIds.length;
  job.prompt ??= [{ id: job.promptIds[0] as number, logprob: null }];
  for (let t = 0; t < len && start + t + 1 < P; t++) {
    const next = job.promptIds[start + t + 1] as number;
    const row = logits.subarray(t * V, (t + 1) * V);
    const info: PromptTokenInfo = { id: next, logprob: logSoftmaxAt(row, next) };
    if (top > 0) info.top = topLogprobs(row, top);
    job.prompt.push(info);
  }
}
