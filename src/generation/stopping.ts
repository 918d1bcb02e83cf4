/** Stopping criteria, checked per row after each generated token. */
import { InvalidArgumentError } from '../errors.js';

export type FinishReason = 'eos' | 'stop' | 'length';

export interface StopState {
  /** Generated ids so far (including the newest). */
  readonly ids: readonly number[];
  /** Generated text decoded so far. */
  readonly text: string;
}

/** Returns a finish reason when the row should stop, or undefined. */
export type StoppingCriterion = (state: StopState) => FinishReason | undefined;

export function maxNewTokens(limit: number): StoppingCriterion {
  return (s) => (s.ids.length >= limit ? 'length' : undefined);
}

export function eosToken(ids: readonly number[]): StoppingCriterion {
  const set = new Set(ids);
  return (s) => {
    const last = s.ids[s.ids.length - 1];
    return last !== undefined && set.has(last) ? 'eos' : undefined;
  };
}

export function stopStrings(stops: readonly string[]): StoppingCriterion {
  for (const s of stops) {
    if (typeof s !== 'string' || s.length === 0) throw new InvalidArgumentError('stop strings must be non-empty strings');
  }
  return (s) => (stops.some((stop) => s.text.includes(stop)) ? 'stop' : undefined);
}

/** Cuts `text` before the earliest stop string it contains. */
export function truncateAtStop(text: string, stops: readonly string[]): string {
  let cut = text.length;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && i < cut) cut = i;
  }
  return text.slice(0, cut);
}

export function firstFinish(criteria: readonly StoppingCriterion[], state: StopState): FinishReason | undefined {
  for (const c of criteria) {
    const r = c(state);
    if (r) return r;
  }
  return undefined;
}
