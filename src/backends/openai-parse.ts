/** Reading token ids and log-probs out of completion choices (legacy `logprobs`, or vLLM's `prompt_logprobs`). */
import { BackendCapabilityError } from '../errors.js';

export interface Choice {
  index: number;
  text: string;
  finish_reason?: string | null;
  /** vLLM: the stop string or stop token id that ended the row, null for EOS and length. */
  stop_reason?: string | number | null;
  logprobs?: { tokens?: string[]; token_logprobs?: (number | null)[] } | null;
  /**
   * vLLM: one entry per prompt token, null for the first; each maps token
   * ids to {logprob, rank, decoded_token}: the prompt's own token, plus the
   * top-k others when prompt_logprobs = k > 0.
   */
  prompt_logprobs?: (Record<string, { logprob: number; rank?: number | null; decoded_token?: string | null }> | null)[] | null;
}

function tokenId(s: string): number | undefined {
  const m = /^token_id:(\d+)$/.exec(s);
  return m ? Number(m[1]) : undefined;
}

export interface ChoiceTokens {
  ids: number[];
  logprobs: (number | null)[];
  /** With `prompt`: whether prompt log-probs came back, the prompt's ids and their log-probs. */
  promptOk: boolean;
  promptIds: number[];
  promptLogprobs: (number | null)[];
}

/**
 * The generated tokens of a choice (`logprobs.tokens` as "token_id:<id>").
 * With `prompt`, the echoed prompt: all of `logprobs` in echo mode (its
 * first entry null), or `prompt_logprobs` in vLLM's mode.
 */
export function choiceTokens(c: Choice, url: string, o: { prompt?: boolean; mode?: 'echo' | 'prompt_logprobs'; sent?: readonly number[] } = {}): ChoiceTokens {
  const out: ChoiceTokens = { ids: [], logprobs: [], promptOk: false, promptIds: [], promptLogprobs: [] };
  if (o.prompt && o.mode === 'prompt_logprobs') {
    const pl = c.prompt_logprobs;
    if (!Array.isArray(pl) || pl.length === 0) return out;
    out.promptOk = true;
    pl.forEach((entry, t) => {
      if (entry === null || t === 0) { out.promptLogprobs.push(null); out.promptIds.push(Number.NaN); return; }
      // The entry of the token that was sent (others are top-k alternatives); without `sent`, the first.
      const want = o.sent?.[t];
      const [id, v] = want !== undefined ? [String(want), entry[String(want)]] : (Object.entries(entry)[0] ?? []);
      out.promptIds.push(v === undefined ? Number.NaN : Number(id));
      out.promptLogprobs.push(typeof v?.logprob === 'number' ? v.logprob : null);
    });
    // The first prompt token has no log-prob, so vLLM gives no id for it; its id is unknown.
    return out;
  }
  const tokens = c.logprobs?.tokens;
  const lps = c.logprobs?.token_logprobs;
  if (!Array.isArray(tokens) || !Array.isArray(lps) || tokens.length !== lps.length) {
    if (o.prompt) return out;
    throw new BackendCapabilityError('token-ids', `the backend at ${url} returned no token log-probs; the harness needs them with token ids (logprobs + return_tokens_as_token_ids, as onnx-steer serve and vLLM support)`);
  }
  const ids = tokens.map(tokenId);
  if (ids.some((x) => x === undefined)) {
    if (o.prompt) return out;
    throw new BackendCapabilityError('token-ids', `the backend at ${url} returns token strings, not ids (it ignores return_tokens_as_token_ids); the harness needs the exact token ids`);
  }
  if (o.prompt) {
    out.promptOk = lps.length > 1 ? lps.slice(1).every((x) => typeof x === 'number') : lps.length === 1;
    out.promptIds = ids as number[];
    out.promptLogprobs = lps;
    return out;
  }
  out.ids = ids as number[];
  out.logprobs = lps;
  return out;
}
