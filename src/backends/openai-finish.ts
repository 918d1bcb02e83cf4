/**
 * Finish reasons of a server's choices in the local backend's vocabulary
 * (generation/stopping.ts): `eos` (the row ended with an end-of-sequence
 * token), `stop` (a stop string), `length` (max_tokens).
 *
 * OpenAI-compatible servers say `stop` for both of the first two. The row is
 * read back as follows:
 *
 *   - `length` → `length`.
 *   - `stop` with vLLM's `stop_reason` a string (the stop string) → `stop`;
 *     a number (a stop token id) or null, which vLLM reports for EOS → `eos`.
 *   - `stop` when the last generated id is an end-of-sequence id of the
 *     model (known when the run has the model's tokenizer locally) → `eos`.
 *   - `stop` when the request had no stop strings → `eos`: nothing else
 *     ends a row early.
 *   - `stop` otherwise → `stop`.
 *
 * Anything else (`abort`, `content_filter`, …) means the row did not end by
 * the model's choice, and is refused: a journal must not keep it.
 */
import { BackendRequestError } from '../errors.js';

export interface FinishInput {
  finishReason: string | null | undefined;
  /** vLLM: the stop string or stop token id, null for EOS; absent on other servers. */
  stopReason?: string | number | null;
  ids: readonly number[];
  /** Stop strings of the request. */
  stop: readonly string[] | undefined;
  /** End-of-sequence ids of the model, when known. */
  eosIds: ReadonlySet<number> | undefined;
}

export function localFinishReason(f: FinishInput, url: string, row: number): 'eos' | 'stop' | 'length' {
  const r = f.finishReason ?? 'length';
  if (r === 'length') return 'length';
  if (r !== 'stop' && r !== 'eos') throw new BackendRequestError(`the backend at ${url} ended row ${row} with finish_reason "${r}" (not stop or length), so the row is not a finished sample`, null);
  if (r === 'eos') return 'eos';
  if (typeof f.stopReason === 'string') return 'stop';
  if (typeof f.stopReason === 'number' || f.stopReason === null) return 'eos';
  const last = f.ids[f.ids.length - 1];
  if (f.eosIds && last !== undefined && f.eosIds.has(last)) return 'eos';
  if (!f.stop || f.stop.length === 0) return 'eos';
  return 'stop';
}
