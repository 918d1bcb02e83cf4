/** Reading token ids and log-probs out of completion choices (legacy `logprobs`, or vLLM's `prompt_logprobs`). */
import { BackendCapabilityError } from '../errors.js';

export interface Choice {
  index: number;
  text: string;
  finish_reason?: string | null;
  logprobs?: { tokens?: string[]; token_logprobs?: (number | null)[] } | null;
  /** vLLM: one entry per prompt token, null for the first; keys are token ids. */
  prompt_logprobs?: (Record<string, { logprob: number }> | null)[] | null;
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
export function choiceTokens(c: Choice, url: string, o: { prompt?: boolean; mode?: 'echo' | 'prompt_logprobs' } = {}): ChoiceTokens {
  const out: ChoiceTokens = { ids: [], logprobs: [], promptOk: false, promptIds: [], promptLogprobs: [] };
  if (o.prompt && o.mode === 'prompt_logprobs') {
    const pl = c.prompt_logprobs;
    if (!Array.isArray(pl) || pl.length === 0) return out;
    out.promptOk = true;
    pl.forEach((entry, t) => {
      if (entry === null) { out.promptLogprobs.push(null); out.promptIds.push(Number.NaN); return; }
      const [id, v] = Object.entries(entry)[0] ?? [];
      out.promptIds.push(Number(id));
      out.promptLogprobs.push(t === 0 ? null : (v?.logprob ?? null));
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
