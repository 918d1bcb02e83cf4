/** Response bodies and stream chunks in the shapes the official `openai` client reads. */
import type { JobResult, PromptTokenInfo } from '../serving/job.js';
import type { RowFinish, TokenInfo, TopLogprob } from '../serving/sequence.js';

export type TokenText = (id: number) => string;

export function finishReason(r: RowFinish): string {
  return r === 'eos' || r === 'stop' ? 'stop' : r === 'cancelled' ? 'abort' : 'length';
}

export interface CompletionLogprobs { tokens: string[]; token_logprobs: (number | null)[]; top_logprobs: (Record<string, number> | null)[]; text_offset: number[] }

function topMap(top: readonly TopLogprob[] | undefined, tokenText: TokenText): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of top ?? []) { const s = tokenText(t.id); if (!(s in out)) out[s] = t.logprob; }
  return out;
}

/** Legacy completions logprobs for prompt tokens (when echoed) and generated tokens, offsets from `offset`. */
export function completionLogprobs(prompt: readonly PromptTokenInfo[] | undefined, tokens: readonly TokenInfo[], tokenText: TokenText, offset: number, withTop: boolean): CompletionLogprobs {
  const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  let at = offset;
  const add = (id: number, logprob: number | null, top: readonly TopLogprob[] | undefined) => {
    const s = tokenText(id);
    out.tokens.push(s);
    out.token_logprobs.push(logprob);
    out.top_logprobs.push(logprob === null ? null : withTop ? topMap(top, tokenText) : {});
    out.text_offset.push(at);
    at += s.length;
  };
  for (const p of prompt ?? []) add(p.id, p.logprob, p.top);
  for (const t of tokens) add(t.id, t.logprob, t.top);
  return out;
}

export interface ChatLogprob { token: string; logprob: number; bytes: number[]; top_logprobs: { token: string; logprob: number; bytes: number[] }[] }

export function chatLogprobs(tokens: readonly TokenInfo[], tokenText: TokenText): { content: ChatLogprob[]; refusal: null } {
  const entry = (id: number, logprob: number) => { const token = tokenText(id); return { token, logprob, bytes: [...Buffer.from(token, 'utf8')] }; };
  return { content: tokens.map((t) => ({ ...entry(t.id, t.logprob), top_logprobs: (t.top ?? []).map((x) => entry(x.id, x.logprob)) })), refusal: null };
}

export function usage(results: readonly JobResult[]): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  const p = results.reduce((n, r) => n + r.usage.promptTokens, 0);
  const c = results.reduce((n, r) => n + r.usage.completionTokens, 0);
  return { prompt_tokens: p, completion_tokens: c, total_tokens: p + c };
}
