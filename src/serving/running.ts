/**
 * The step loop's batch: rows of prefilled jobs join at a step boundary when
 * their padding aligns (see DecodeBatch), every step samples each row's next
 * token from its own logits and emits its events, finished and cancelled
 * rows leave, and one decode pass feeds every remaining row its newest token
 * with its own steering.
 */
import { DecodeBatch } from '../generation/batch.js';
import { selectCacheRows, type KvCache } from '../runtime/cache.js';
import type { ModelRunner } from '../runtime/runner.js';
import { BatchFeeds } from './feeds.js';
import type { Counters } from './metrics.js';
import type { RowState, TokenInfo } from './sequence.js';
import { newRow, settleJob, type Job, type RowContext } from './state.js';

interface Slot { job: Job; row: RowState; logits: Float32Array | undefined }

export class RunningBatch {
  private readonly runner: ModelRunner;
  private readonly counters: Counters;
  private readonly rowContext: RowContext;
  readonly maxBatch: number;
  private readonly batch: DecodeBatch;
  private readonly feeds: BatchFeeds;
  private slots: Slot[] = [];

  constructor(runner: ModelRunner, counters: Counters, rowContext: RowContext, maxBatch: number, alignment: number | undefined) {
    this.runner = runner;
    this.counters = counters;
    this.rowContext = rowContext;
    this.maxBatch = maxBatch;
    const m = runner.manifest;
    this.batch = new DecodeBatch(runner, alignment !== undefined ? { alignment } : {});
    this.feeds = new BatchFeeds(m.sites, m.hiddenSize, m.dtype);
  }

  get size(): number { return this.slots.length; }
  get padding(): number { return this.batch.padding; }
  jobs(): Job[] { return this.slots.map((s) => s.job); }

  /** Moves rows of prefilled jobs into the batch while there is room and their padding aligns. */
  spawn(ready: Job[]): void {
    for (let i = 0; i < ready.length; i++) {
      const job = ready[i] as Job;
      if (job.cancelled) {
        ready.splice(i--, 1);
        job.cache = undefined;
        settleJob(job);
        continue;
      }
      const free = this.maxBatch - this.slots.length;
      if (free <= 0) return;
      // The most positions a row of this job attends over: its prompt and every token but the last.
      const final = Math.min(job.promptIds.length + job.maxTokens, this.rowContext.context ?? Infinity);
      if (!this.batch.canJoin(job.promptIds.length, final)) continue;
      const k = Math.min(free, job.n - job.spawned);
      const cache = job.cache as KvCache;
      const last = job.spawned + k === job.n;
      this.batch.add(k === 1 && last ? cache : selectCacheRows(this.runner.manifest.cache, cache, new Array<number>(k).fill(0)), final);
      for (let r = 0; r < k; r++) {
        const row = newRow(job, job.spawned + r, this.rowContext);
        job.rows[job.spawned + r] = row;
        this.slots.push({ job, row, logits: job.lastLogits });
      }
      job.spawned += k;
      if (last) {
        job.cache = undefined;
        ready.splice(i--, 1);
      }
    }
  }

  /** Picks the next token of every row in the batch, emits events and lets finished rows leave. */
  sample(): void {
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
          if (text) job.channel.push({ type: 'delta', row: row.index, text, tokens: pending.splice(0) });
        }
      }
      if (row.finish) {
        job.finished++;
        job.channel.push({ type: 'finish', row: row.index, reason: row.finish, text: row.release(), tokens: (job.pendingTokens[row.index] as TokenInfo[]).splice(0) });
        if (job.finished === job.n) settleJob(job);
      } else {
        keep.push(b);
      }
    }
    if (keep.length < this.slots.length) {
      this.batch.retain(keep);
      this.slots = keep.map((b) => this.slots[b] as Slot);
    }
  }

  /** One decode pass over every row; each row's logits are kept for the next sample(). */
  async decode(): Promise<void> {
    const slots = this.slots;
    if (slots.length === 0) return;
    const ids = slots.map((s) => s.row.last);
    const feeds = this.feeds.feeds(slots.map((s) => ({ plan: s.job.plan, position: s.row.tokens.length - 1, promptLength: s.row.promptLength })));
    const logits = await this.batch.step(ids, feeds);
    this.counters.decodeStepsTotal++;
    this.counters.rowStepsTotal += slots.length;
    const V = this.rowContext.vocab;
    slots.forEach((s, b) => { s.logits = logits.subarray(b * V, (b + 1) * V); });
  }

  /** Drops every row; returns the jobs they belonged to. */
  clear(): Job[] {
    const jobs = this.jobs();
    this.slots = [];
    this.batch.clear();
    return jobs;
  }
}
