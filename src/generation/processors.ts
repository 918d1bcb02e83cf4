/**
 * Logits processors: in-place transforms of one row's logits before sampling.
 * Each is a small factory returning a function, so they compose as a list.
 */
export interface ProcessorContext {
  /** All token ids of the row so far (prompt and generated). */
  readonly tokens: readonly number[];
  /** Number of generated tokens so far. */
  readonly generated: number;
}

export type LogitsProcessor = (logits: Float32Array, ctx: ProcessorContext) => void;

/** CTRL-style repetition penalty (as in Hugging Face): divide positive, multiply negative logits of seen tokens. */
export function repetitionPenalty(penalty: number): LogitsProcessor {
  const seen = new Set<number>();
  return (logits, ctx) => {
    seen.clear();
    for (const t of ctx.tokens) seen.add(t);
    for (const t of seen) {
      const v = logits[t];
      if (v === undefined) continue;
      logits[t] = v < 0 ? v * penalty : v / penalty;
    }
  };
}

/**
 * Divides logits by the temperature (> 0). The maximum is subtracted first
 * (softmax is unchanged by it), so a tiny temperature such as 1e-40 gives
 * 0 for the best token and −∞ for the rest, i.e. greedy, instead of ∞ − ∞.
 */
export function temperature(t: number): LogitsProcessor {
  const inv = 1 / t;
  return (logits) => {
    let max = -Infinity;
    for (let i = 0; i < logits.length; i++) { const v = logits[i] as number; if (v > max) max = v; }
    if (!Number.isFinite(max)) return;
    if (Number.isFinite(inv)) for (let i = 0; i < logits.length; i++) logits[i] = ((logits[i] as number) - max) * inv;
    else for (let i = 0; i < logits.length; i++) logits[i] = ((logits[i] as number) - max) / t;
  };
}

/** Forbids `ids` until `minTokens` tokens have been generated (e.g. EOS). */
export function minNewTokens(minTokens: number, ids: readonly number[]): LogitsProcessor {
  return (logits, ctx) => {
    if (ctx.generated >= minTokens) return;
    for (const id of ids) if (id < logits.length) logits[id] = -Infinity;
  };
}
