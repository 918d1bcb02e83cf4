/**
 * The small statistics every layer uses, written once: mean, sample
 * variance, argmax and perplexity.
 */

/** Arithmetic mean, summed left to right (NaN for no values). */
export function mean(xs: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < xs.length; i++) sum += xs[i] as number;
  return sum / xs.length;
}

/** Unbiased sample variance Σ(x − x̄)²/(n − 1): 0 for one value, NaN for none. */
export function variance(xs: ArrayLike<number>, xBar: number = mean(xs)): number {
  const n = xs.length;
  if (n < 2) return n === 1 ? 0 : NaN;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += ((xs[i] as number) - xBar) ** 2;
  return ss / (n - 1);
}

/** Index of the largest value; ties go to the lowest index and NaN never wins (0 when nothing does). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v > bestValue) { bestValue = v; best = i; }
  }
  return best;
}

/** exp(−Σ log p / tokens): the perplexity of `tokens` tokens whose log-probs sum to `logprobSum`. */
export function perplexityOf(logprobSum: number, tokens: number): number {
  return Math.exp(-logprobSum / tokens);
}
