/**
 * The continuous-batching scheduler: requests wait in a bounded queue, are
 * prefilled one chunk at a time between decode steps, join the running batch
 * at a step boundary and leave it when their rows finish. Every row has its
 * own steering plan, sampler, seed and stopping criteria, and its padding in
 * the batch is aligned (see DecodeBatch), so what a row generates does not
 * depend on what else is in the batch.
 *
 *   const scheduler = new Scheduler(model, { maxBatch: 16 });
 *   const job = scheduler.submit({ promptIds, maxTokens: 32, sampling: { temperature: 0 } });
 *   for await (const ev of job.events) if (ev.type === 'delta') process.stdout.write(ev.text);
 *   await scheduler.close();
 */
import { InvalidArgumentError, QueueFullError, SchedulerClosedError } from '../errors.js';
import { DecodeBatch } from '../generation/batch.js';
import { rowSeed } from '../math/rng.js';
import { logSoftmaxAt } from '../generation/sampler.js';
import { selectCacheRows, type KvCache } from '../runtime/cache.js';
import type { HookedModel } from '../model/hooked-model.js';
import type { ModelRunner } from '../runtime/runner.js';
import { CompiledPlan } from '../steering/compile.js';
import { BatchFeeds, RowPlan } from './feeds.js';
import { EventChannel, type FinishedRow, type GenerationRequest, type JobEvent, type JobResult, type PromptTokenInfo } from './job.js';
import { RowState, topLogprobs, type RowSpec, type SamplingSpec, type TokenInfo } from './sequence.js';

export interface SchedulerOptions {
  /** Rows decoded together at most. Default 16. */
  maxBatch?: number;
  /** Rows waiting for a place in the batch at most; more are refused. Default 256. */
  maxQueue?: number;
  /** Prompt tokens per prefill pass; longer prompts are prefilled in chunks between decode steps. Default 256. */
  prefillChunk?: number;
  /** Padding granule of the batched cache (see DecodeBatch). Default 8. */
  alignment?: number;
}

export interface JobHandle {
  readonly id: number;
  readonly events: AsyncIterable<JobEvent>;
  readonly result: Promise<JobResult>;
  cancel(): void;
}

export interface SchedulerMetrics {
  requestsTotal: number;
  promptTokensTotal: number;
  generatedTokensTotal: number;
  decodeStepsTotal: number;
  /** Σ batch size over decode steps (divide by steps for the mean occupancy). */
  rowStepsTotal: number;
  prefillPassesTotal: number;
  runningRows: number;
  queuedRows: number;
  maxBatch: number;
  paddingSlots: number;
  accepting: boolean;
}

/** What the scheduler needs from a tokenizer. */
export interface ServingTokenizer {
  decode(ids: readonly number[]): string;
  readonly eosIds: readonly number[];
}

interface Job {
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

interface Slot { job: Job; row: RowState; logits: Float32Array | undefined }

export class Scheduler {
  readonly runner: ModelRunner;
  private readonly tokenizer: ServingTokenizer;
  readonly maxBatch: number;
  readonly maxQueue: number;
  private readonly prefillChunk: number;
  private readonly context: number | undefined;
  private readonly vocab: number;
  private readonly batch: DecodeBatch;
  private readonly feeds: BatchFeeds;
  private readonly queue: Job[] = [];
  private readonly ready: Job[] = [];
  private prefilling: Job | undefined;
  private slots: Slot[] = [];
  private running: Promise<void> | undefined;
  private accepting = true;
  private nextId = 1;
  private readonly counters = { requestsTotal: 0, promptTokensTotal: 0, generatedTokensTotal: 0, decodeStepsTotal: 0, rowStepsTotal: 0, prefillPassesTotal: 0 };

  constructor(model: HookedModel | { runner: ModelRunner; tokenizer: ServingTokenizer }, options: SchedulerOptions = {}) {
    this.runner = model.runner;
    this.tokenizer = model.tokenizer;
    const m = this.runner.manifest;
    this.maxBatch = options.maxBatch ?? 16;
    this.maxQueue = options.maxQueue ?? 256;
    const chunk = options.prefillChunk ?? 256;
    for (const [name, v, min] of [['maxBatch', this.maxBatch, 1], ['maxQueue', this.maxQueue, 0], ['prefillChunk', chunk, 1]] as const) {
      if (!Number.isInteger(v) || v < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}, got ${v}`);
    }
    this.prefillChunk = Math.min(chunk, m.inputs.maxSequence ?? chunk);
    this.context = m.maxPositions ?? m.cache.maxLength;
    if (!m.outputs.logits || m.vocabSize === undefined) throw new InvalidArgumentError('this model has no logits output (it ends in a hidden state); it cannot serve generation');
    this.vocab = m.vocabSize;
    this.batch = new DecodeBatch(this.runner, options.alignment !== undefined ? { alignment: options.alignment } : {});
    this.feeds = new BatchFeeds(m.sites, m.hiddenSize, m.dtype);
  }

  /** Whether rows of different lengths share decode steps on this model (else only equal-length rows do). */
  get ragged(): boolean { return DecodeBatch.supportsRagged(this.runner.manifest); }

  get queuedRows(): number {
    let n = 0;
    for (const j of this.queue) n += j.n;
    for (const j of this.ready) n += j.n - j.spawned;
    if (this.prefilling) n += this.prefilling.n;
    return n;
  }

  metrics(): SchedulerMetrics {
    return { ...this.counters, runningRows: this.slots.length, queuedRows: this.queuedRows, maxBatch: this.maxBatch, paddingSlots: this.batch.padding, accepting: this.accepting };
  }

  /** Queues a request. Throws InvalidArgumentError on bad input, QueueFullError when the queue is full. */
  submit(req: GenerationRequest): JobHandle {
    if (!this.accepting) throw new SchedulerClosedError();
    const job = this.prepare(req);
    if (this.queuedRows + job.n > this.maxQueue) {
      throw new QueueFullError(`the request queue is full (${this.queuedRows} of ${this.maxQueue} rows waiting); retry later`);
    }
    const result = new Promise<JobResult>((resolve, reject) => { job.resolve = resolve; job.reject = reject; });
    result.catch(() => undefined);
    if (req.signal) {
      if (req.signal.aborted) job.cancelled = true;
      job.signal = req.signal;
      job.onAbort = () => this.cancelJob(job);
      req.signal.addEventListener('abort', job.onAbort, { once: true });
    }
    this.counters.requestsTotal++;
    this.queue.push(job);
    this.kick();
    return { id: job.id, events: job.channel, result, cancel: () => this.cancelJob(job) };
  }

  /** Stops accepting work; waits up to `graceMs` for in-flight rows, then cancels what is left. */
  async drain(graceMs: number): Promise<void> {
    this.accepting = false;
    const loop = this.running;
    if (loop) {
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), graceMs); });
      const outcome = await Promise.race([loop.then(() => 'done' as const), expired]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        for (const j of [...this.queue, ...this.ready, ...(this.prefilling ? [this.prefilling] : []), ...this.slots.map((s) => s.job)]) this.cancelJob(j);
        await this.running;
      }
    }
  }

  /** Cancels everything and stops. */
  async close(): Promise<void> {
    await this.drain(0);
  }

  private prepare(req: GenerationRequest): Job {
    const promptIds = [...req.promptIds];
    if (promptIds.length === 0) throw new InvalidArgumentError('the prompt is empty (no tokens)');
    for (const id of promptIds) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocab) throw new InvalidArgumentError(`prompt token id ${id} is outside the vocabulary [0, ${this.vocab})`);
    }
    if (this.context !== undefined && promptIds.length >= this.context) {
      throw new InvalidArgumentError(`the prompt has ${promptIds.length} tokens, the model's context is ${this.context}`);
    }
    const n = req.n ?? (req.seeds ? req.seeds.length : 1);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`n must be an integer ≥ 1, got ${String(req.n)}`);
    if (n > this.maxQueue && n > this.maxBatch) throw new InvalidArgumentError(`n = ${n} exceeds what the server holds (queue ${this.maxQueue} rows)`);
    if (!Number.isInteger(req.maxTokens) || req.maxTokens < 0) throw new InvalidArgumentError(`max tokens must be an integer ≥ 0, got ${String(req.maxTokens)}`);
    const s = req.sampling ?? {};
    const sampling: SamplingSpec = { temperature: s.temperature ?? 1, topP: s.topP ?? 1, topK: s.topK ?? 0, minP: s.minP ?? 0, repetitionPenalty: s.repetitionPenalty ?? 1 };
    if (!Number.isFinite(sampling.temperature) || sampling.temperature < 0) throw new InvalidArgumentError(`temperature must be ≥ 0, got ${sampling.temperature}`);
    if (!Number.isFinite(sampling.topP) || sampling.topP <= 0 || sampling.topP > 1) throw new InvalidArgumentError(`top_p must be in (0, 1], got ${sampling.topP}`);
    if (!Number.isInteger(sampling.topK) || sampling.topK < 0) throw new InvalidArgumentError(`top_k must be an integer ≥ 0, got ${sampling.topK}`);
    if (!Number.isFinite(sampling.minP) || sampling.minP < 0 || sampling.minP > 1) throw new InvalidArgumentError(`min_p must be in [0, 1], got ${sampling.minP}`);
    if (!Number.isFinite(sampling.repetitionPenalty) || sampling.repetitionPenalty <= 0) throw new InvalidArgumentError(`repetition_penalty must be > 0, got ${sampling.repetitionPenalty}`);
    let seeds: number[];
    if (req.seeds) {
      if (req.seeds.length !== n) throw new InvalidArgumentError(`seeds has ${req.seeds.length} entries for n = ${n}`);
      seeds = req.seeds.map((x) => x >>> 0);
    } else {
      const seed = req.seed ?? 0;
      if (!Number.isInteger(seed)) throw new InvalidArgumentError(`seed must be an integer, got ${String(req.seed)}`);
      seeds = Array.from({ length: n }, (_, k) => rowSeed(seed, k));
    }
    const stop = [...(req.stop ?? [])];
    for (const x of stop) if (typeof x !== 'string' || x.length === 0) throw new InvalidArgumentError('stop strings must be non-empty strings');
    const stopIds = new Set<number>(req.ignoreEos ? [] : this.tokenizer.eosIds);
    for (const id of req.stopTokenIds ?? []) stopIds.add(id);
    for (const [name, v] of [['logprobs', req.logprobs], ['prompt logprobs', req.promptLogprobs]] as const) {
      if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 20)) throw new InvalidArgumentError(`${name} must be an integer in [0, 20], got ${String(v)}`);
    }
    const m = this.runner.manifest;
    const ivs = req.steering ?? [];
    const plan = ivs.length > 0 ? new RowPlan(ivs, m.sites, m.hiddenSize) : undefined;
    return {
      id: this.nextId++, promptIds, n, seeds, maxTokens: req.maxTokens, sampling, stop, stopIds, plan,
      prefillPlan: new CompiledPlan(plan ? [...ivs] : undefined, m.sites, m.hiddenSize, m.dtype),
      logprobs: req.logprobs, promptLogprobs: req.promptLogprobs,
      channel: new EventChannel<JobEvent>(), resolve: () => undefined, reject: () => undefined,
      cancelled: false, settled: false, prefilled: 0, cache: undefined, lastLogits: undefined, prompt: undefined,
      spawned: 0, rows: new Array<RowState | undefined>(n).fill(undefined), finished: 0,
      pendingTokens: Array.from({ length: n }, () => []),
      t0: performance.now(), tAdmit: undefined, tFirst: undefined,
    };
  }

  private kick(): void {
    if (this.running) return;
    this.running = this.loop().finally(() => { this.running = undefined; });
  }

  private get busy(): boolean {
    return this.queue.length > 0 || this.ready.length > 0 || this.prefilling !== undefined || this.slots.length > 0;
  }

  private async loop(): Promise<void> {
    while (this.busy) {
      try {
        await this.prefillOnce();
        this.spawn();
        this.sample();
        if (this.slots.length > 0) await this.decode();
      } catch (err) {
        this.failAll(err instanceof Error ? err : new Error(String(err)));
      }
      // Let HTTP handlers and cancellations run between steps even when onnxruntime returns at once.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private pendingRows(): number {
    let n = this.slots.length;
    for (const j of this.ready) n += j.n - j.spawned;
    return n;
  }

  /** Advances the prefill of one request by one chunk (starting the next queued request when there is room). */
  private async prefillOnce(): Promise<void> {
    if (!this.prefilling) {
      while (this.queue[0]?.cancelled) this.settle(this.queue.shift() as Job);
      if (this.queue.length === 0 || this.pendingRows() >= this.maxBatch) return;
      const next = this.queue.shift();
      if (!next) return;
      next.tAdmit = performance.now();
      next.cache = this.runner.emptyCache(1);
      this.prefilling = next;
    }
    const job = this.prefilling;
    if (job.cancelled) {
      this.prefilling = undefined;
      job.cache = undefined;
      this.settle(job);
      return;
    }
    const P = job.promptIds.length;
    const start = job.prefilled;
    const len = Math.min(this.prefillChunk, P - start);
    const ids = job.promptIds.slice(start, start + len);
    const out = await this.runner.forward({
      ids, batch: 1, seqLen: len, cache: job.cache as KvCache,
      hookFeeds: job.prefillPlan.feeds({ starts: [start], promptLengths: [P], seqLen: len }),
    });
    this.counters.prefillPassesTotal++;
    const logits = out.logits;
    if (!logits) throw new InvalidArgumentError('this model has no logits output; it cannot generate');
    const V = this.vocab;
    if (job.promptLogprobs !== undefined) {
      job.prompt ??= [{ id: job.promptIds[0] as number, logprob: null }];
      for (let t = 0; t < len && start + t + 1 < P; t++) {
        const next = job.promptIds[start + t + 1] as number;
        const row = logits.data.subarray(t * V, (t + 1) * V);
        const info: PromptTokenInfo = { id: next, logprob: logSoftmaxAt(row, next) };
        if (job.promptLogprobs > 0) info.top = topLogprobs(row, job.promptLogprobs);
        job.prompt.push(info);
      }
    }
    job.cache = out.cache;
    job.prefilled += len;
    if (job.prefilled < P) return;
    this.prefilling = undefined;
    this.counters.promptTokensTotal += P;
    job.lastLogits = logits.data.slice((len - 1) * V, len * V);
    if (job.maxTokens === 0 || job.cancelled) {
      job.cache = undefined;
      for (let k = 0; k < job.n; k++) job.rows[k] = this.newRow(job, k);
      for (const r of job.rows) r?.cancel();
      this.settle(job, job.cancelled ? 'cancelled' : 'length');
      return;
    }
    this.ready.push(job);
  }

  private newRow(job: Job, k: number): RowState {
    const spec: RowSpec = {
      sampling: job.sampling, seed: job.seeds[k] as number, maxTokens: job.maxTokens, stop: job.stop, stopIds: job.stopIds,
      context: this.context, topLogprobs: job.logprobs,
    };
    return new RowState(k, job.promptIds, spec, this.vocab, (ids) => this.tokenizer.decode(ids));
  }

  /** Moves rows of prefilled requests into the batch while there is room and their padding aligns. */
  private spawn(): void {
    for (let i = 0; i < this.ready.length; i++) {
      const job = this.ready[i] as Job;
      if (job.cancelled) {
        this.ready.splice(i--, 1);
        job.cache = undefined;
        this.settle(job);
        continue;
      }
      const free = this.maxBatch - this.slots.length;
      if (free <= 0) return;
      if (!this.batch.canJoin(job.promptIds.length)) continue;
      const k = Math.min(free, job.n - job.spawned);
      const cache = job.cache as KvCache;
      const last = job.spawned + k === job.n;
      this.batch.add(k === 1 && last ? cache : selectCacheRows(this.runner.manifest.cache, cache, new Array<number>(k).fill(0)));
      for (let r = 0; r < k; r++) {
        const row = this.newRow(job, job.spawned + r);
        job.rows[job.spawned + r] = row;
        this.slots.push({ job, row, logits: job.lastLogits });
      }
      job.spawned += k;
      if (last) {
        job.cache = undefined;
        this.ready.splice(i--, 1);
      }
    }
  }

  /** Picks the next token of every row in the batch, emits events and lets finished rows leave. */
  private sample(): void {
    const keep: number[] = [];
    for (let b = 0; b < this.slots.length; b++) {
      const slot = this.slots[b] as Slot;
      const { job, row } = slot;
      if (job.cancelled) row.cancel();
      else if (slot.logits) {
        const info = row.advance(slot.logits);
        slot.logits = undefined;
        this.counters.generatedTokensTotal++;
        job.tFirst ??= performance.now();
        const pending = job.pendingTokens[row.index] as TokenInfo[];
        pending.push(info);
        if (!row.finish) {
          const text = row.release();
          if (text) {
            job.channel.push({ type: 'delta', row: row.index, text, tokens: pending.splice(0) });
          }
        }
      }
      if (row.finish) {
        job.finished++;
        job.channel.push({ type: 'finish', row: row.index, reason: row.finish, text: row.release(), tokens: (job.pendingTokens[row.index] as TokenInfo[]).splice(0) });
        if (job.finished === job.n) this.settle(job);
      } else {
        keep.push(b);
      }
    }
    if (keep.length < this.slots.length) {
      this.batch.retain(keep);
      this.slots = keep.map((b) => this.slots[b] as Slot);
    }
  }

  private async decode(): Promise<void> {
    const slots = this.slots;
    const ids = slots.map((s) => s.row.last);
    const feeds = this.feeds.feeds(slots.map((s) => ({ plan: s.job.plan, position: s.row.tokens.length - 1, promptLength: s.row.promptLength })));
    const logits = await this.batch.step(ids, feeds);
    this.counters.decodeStepsTotal++;
    this.counters.rowStepsTotal += slots.length;
    const V = this.vocab;
    slots.forEach((s, b) => { s.logits = logits.subarray(b * V, (b + 1) * V); });
  }

  private cancelJob(job: Job): void {
    if (job.settled || job.cancelled) return;
    job.cancelled = true;
    const q = this.queue.indexOf(job);
    if (q >= 0) {
      this.queue.splice(q, 1);
      this.settle(job);
    }
    // Prefilling, ready and running jobs are released by the loop at its next step.
  }

  /** Resolves a job whose rows are all finished (or which never got rows). */
  private settle(job: Job, reason: 'cancelled' | 'length' = 'cancelled'): void {
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

  private failAll(err: Error): void {
    const jobs = new Set<Job>([...this.slots.map((s) => s.job), ...this.ready, ...(this.prefilling ? [this.prefilling] : [])]);
    this.slots = [];
    this.ready.length = 0;
    this.prefilling = undefined;
    this.batch.clear();
    for (const job of jobs) {
      if (job.settled) continue;
      job.settled = true;
      job.cache = undefined;
      job.channel.push({ type: 'error', error: err });
      job.channel.close();
      job.reject(err);
    }
  }
}
