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

/** Divides logits by the temperature (> 0). */
export function temperature(t: number): LogitsProcessor {
  const inv = 1 / t;
  return (logits) => {
    for (let i = 0; i < logits.length; i++) logits[i] = (logits[i] as number) * inv;
  };
}

/** Forbids `ids` until `minTokens` tokens have been generated (e.g. EOS). */
export function minNewTokens(minTokens: number, ids: readonly number[]): LogitsProcessor {
  return (logits, ctx) => {
    if (ctx.generated >= minTokens) return;
    for (const id of ids) if (id < logits.length) logits[id] = -Infinity;
  };
}
