/** The scheduler's counters (monotonic totals) and the metrics snapshot it reports. */

export interface Counters {
  requestsTotal: number;
  promptTokensTotal: number;
  generatedTokensTotal: number;
  decodeStepsTotal: number;
  /** Σ batch size over decode steps (divide by steps for the mean occupancy). */
  rowStepsTotal: number;
  prefillPassesTotal: number;
}

export interface SchedulerMetrics extends Counters {
  runningRows: number;
  queuedRows: number;
  maxBatch: number;
  paddingSlots: number;
  accepting: boolean;
}

export function newCounters(): Counters {
  return { requestsTotal: 0, promptTokensTotal: 0, generatedTokensTotal: 0, decodeStepsTotal: 0, rowStepsTotal: 0, prefillPassesTotal: 0 };
}
