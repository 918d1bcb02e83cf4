/**
 * The continuous-batching scheduler: requests wait in a bounded queue, are
 * prefilled in chunks between decode steps (see prefill.ts), join the running batch
 * at a step boundary and leave it when their rows finish. Every row has its
 * own steering plan, sampler, seed and stopping criteria, and its padding in
 * the batch is aligned (see DecodeBatch), so what a row generates does not
 * depend on what else is in the batch.
 *
 *   const scheduler = new Scheduler(model, { maxBatch: 16 });
 *   const job = scheduler.submit({ promptIds, maxTokens: 32, sampling: { temperature: 0 } });
 *   for await (const ev of job.events) if (ev.type === 'delta') process.stdout.write(ev.text);
 *   await scheduler.close();
 *
 * The parts: admission.ts (request → job), queue.ts (waiting jobs),
 * prefill.ts (prompt chunks between steps), running.ts (the batch's step
 * loop), state.ts (a job's lifecycle and result), metrics.ts.
 */
import { InvalidArgumentError, QueueFullError, SchedulerClosedError } from '../errors.js';
import { DecodeBatch } from '../generation/batch.js';
import type { HookedModel } from '../model/hooked-model.js';
import type { ModelRunner } from '../runtime/runner.js';
import { prepareJob, type AdmissionLimits } from './admission.js';
import type { GenerationRequest, JobEvent, JobResult } from './job.js';
import { newCounters, type SchedulerMetrics } from './metrics.js';
import { Prefiller } from './prefill.js';
import { WaitingQueue } from './queue.js';
import { RunningBatch } from './running.js';
import { failJob, settleJob, type Job } from './state.js';

export type { SchedulerMetrics } from './metrics.js';

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

/** What the scheduler needs from a tokenizer. */
export interface ServingTokenizer {
  decode(ids: readonly number[]): string;
  readonly eosIds: readonly number[];
}

export class Scheduler {
  readonly runner: ModelRunner;
  readonly maxBatch: number;
  readonly maxQueue: number;
  private readonly limits: AdmissionLimits;
  private readonly queue = new WaitingQueue();
  private readonly prefill: Prefiller;
  private readonly batch: RunningBatch;
  private readonly counters = newCounters();
  private running: Promise<void> | undefined;
  private accepting = true;
  private nextId = 1;

  constructor(model: HookedModel | { runner: ModelRunner; tokenizer: ServingTokenizer }, options: SchedulerOptions = {}) {
    this.runner = model.runner;
    const tokenizer = model.tokenizer;
    const m = this.runner.manifest;
    this.maxBatch = options.maxBatch ?? 16;
    this.maxQueue = options.maxQueue ?? 256;
    const chunk = options.prefillChunk ?? 256;
    for (const [name, v, min] of [['maxBatch', this.maxBatch, 1], ['maxQueue', this.maxQueue, 0], ['prefillChunk', chunk, 1]] as const) {
      if (!Number.isInteger(v) || v < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}, got ${v}`);
    }
    if (!m.outputs.logits || m.vocabSize === undefined) throw new InvalidArgumentError('this model has no logits output (it ends in a hidden state); it cannot serve generation');
    const context = m.maxPositions ?? m.cache.maxLength;
    this.limits = { manifest: m, vocab: m.vocabSize, context, maxBatch: this.maxBatch, maxQueue: this.maxQueue, eosIds: tokenizer.eosIds };
    const rowContext = { vocab: m.vocabSize, context, decode: (ids: readonly number[]) => tokenizer.decode(ids) };
    this.prefill = new Prefiller(this.runner, this.counters, Math.min(chunk, m.inputs.maxSequence ?? chunk), rowContext);
    this.batch = new RunningBatch(this.runner, this.counters, rowContext, this.maxBatch, options.alignment);
  }

  /** Whether rows of different lengths share decode steps on this model (else only equal-length rows do). */
  get ragged(): boolean { return DecodeBatch.supportsRagged(this.runner.manifest); }

  get queuedRows(): number {
    return this.queue.rows + this.prefill.waitingRows;
  }

  metrics(): SchedulerMetrics {
    return { ...this.counters, runningRows: this.batch.size, queuedRows: this.queuedRows, maxBatch: this.maxBatch, paddingSlots: this.batch.padding, accepting: this.accepting };
  }

  /** Queues a request. Throws InvalidArgumentError on bad input, QueueFullError when the queue is full. */
  submit(req: GenerationRequest): JobHandle {
    if (!this.accepting) throw new SchedulerClosedError();
    const job = prepareJob(req, this.nextId++, this.limits);
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
    if (!loop) return;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), graceMs); });
    const outcome = await Promise.race([loop.then(() => 'done' as const), expired]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      const prefill = this.prefill.current ? [this.prefill.current] : [];
      for (const j of [...this.queue.all(), ...this.prefill.ready, ...prefill, ...this.batch.jobs()]) this.cancelJob(j);
      await this.running;
    }
  }

  /** Cancels everything and stops. */
  async close(): Promise<void> {
    await this.drain(0);
  }

  private kick(): void {
    if (this.running) return;
    this.running = this.loop().finally(() => { this.running = undefined; });
  }

  private get busy(): boolean {
    return this.queue.length > 0 || this.prefill.busy || this.batch.size > 0;
  }

  private async loop(): Promise<void> {
    while (this.busy) {
      try {
        await this.prefill.step(this.queue, this.batch.size, this.maxBatch);
        this.batch.spawn(this.prefill.ready);
        this.batch.sample();
        await this.batch.decode();
      } catch (err) {
        this.failAll(err instanceof Error ? err : new Error(String(err)));
      }
      // Let HTTP handlers and cancellations run between steps even when onnxruntime returns at once.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private cancelJob(job: Job): void {
    if (job.settled || job.cancelled) return;
    job.cancelled = true;
    // A queued job ends now; prefilling, ready and running jobs are released by the loop at its next step.
    if (this.queue.remove(job)) settleJob(job);
  }

  private failAll(err: Error): void {
    const jobs = new Set<Job>([...this.batch.clear(), ...this.prefill.clear()]);
    for (const job of jobs) failJob(job, err);
  }
}
