/**
 * Statistics for Best-of-N and A/B runs. Every function rejects a non-finite
 * input with the index it came from, so a NaN is never averaged in.
 *
 * - meanCI: the mean with a seeded percentile-bootstrap CI (default 95%,
 *   2000 resamples, xoshiro128** from the generation RNG).
 * - winRate: paired win rate of a treatment over a baseline per prompt
 *   (a tie counts ½), with a bootstrap CI over prompts.
 * - distinctN: distinct-n (Li et al. 2016): unique n-grams / all n-grams over
 *   a set of texts (words as in ROUGE-L) or token-id sequences.
 * - perplexity: exp(−Σ log p / #tokens) over all tokens of all sequences.
 * - klMonteCarlo: KL(π ‖ π_ref) from samples y ~ π and their summed log-probs
 *   under both: k1 = mean(log π − log π_ref) (unbiased), or k3 =
 *   mean((ρ − 1) − log ρ), ρ = π_ref/π (unbiased, never negative, lower variance).
 * - bonKlBound: log N − (N − 1)/N, the often-quoted analytic KL of the
 *   best-of-N policy to π_ref. Beirami et al. 2024 show it is an upper bound,
 *   tight when every response has small probability under π_ref.
 */
import { InvalidArgumentError } from '../errors.js';
import { Rng } from '../math/rng.js';
import { mean, perplexityOf, variance } from '../math/stats.js';
import { words } from '../utilities/kinds/lexical.js';

export interface Interval {
  mean: number;
  lo: number;
  hi: number;
  n: number;
  confidence: number;
}

export interface BootstrapOptions {
  confidence?: number;
  resamples?: number;
  seed?: number;
}

function checkFinite(values: ArrayLike<number>, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new InvalidArgumentError(`${what}[${i}] is ${values[i]}; statistics need finite values`);
  }
}

/** Linear-interpolation quantile (type 7) of sorted values. */
function quantile(sorted: Float64Array, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}

function resolveBootstrap(o: BootstrapOptions): Required<BootstrapOptions> {
  const confidence = o.confidence ?? 0.95;
  const resamples = o.resamples ?? 2000;
  if (!(confidence > 0 && confidence < 1)) throw new InvalidArgumentError(`confidence must be in (0, 1), got ${confidence}`);
  if (!Number.isSafeInteger(resamples) || resamples < 1) throw new InvalidArgumentError(`resamples must be a positive integer, got ${resamples}`);
  return { confidence, resamples, seed: o.seed ?? 0 };
}

/** Mean of `values` with a percentile-bootstrap confidence interval (seeded, reproducible). */
export function meanCI(values: ArrayLike<number>, options: BootstrapOptions = {}): Interval {
  const { confidence, resamples, seed } = resolveBootstrap(options);
  const n = values.length;
  if (n === 0) throw new InvalidArgumentError('meanCI: no values');
  checkFinite(values, 'values');
  const m = mean(values);
  const rng = new Rng(seed);
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += values[Math.floor(rng.next() * n)] as number;
    means[b] = s / n;
  }
  means.sort();
  const alpha = (1 - confidence) / 2;
  return { mean: m, lo: quantile(means, alpha), hi: quantile(means, 1 - alpha), n, confidence };
}

export interface WinRate extends Interval {
  wins: number;
  ties: number;
  losses: number;
}

/**
 * Paired win rate of `treatment[k]` over `baseline[k]` (one pair per prompt):
 * (wins + ½·ties) / n; |difference| ≤ `tieTolerance` is a tie.
 */
export function winRate(treatment: ArrayLike<number>, baseline: ArrayLike<number>, options: BootstrapOptions & { tieTolerance?: number } = {}): WinRate {
  if (treatment.length !== baseline.length) throw new InvalidArgumentError(`winRate: ${treatment.length} treatment and ${baseline.length} baseline scores`);
  checkFinite(treatment, 'treatment');
  checkFinite(baseline, 'baseline');
  const tol = options.tieTolerance ?? 0;
  if (!(tol >= 0)) throw new InvalidArgumentError(`tieTolerance must be ≥ 0, got ${tol}`);
  const outcome = new Float64Array(treatment.length);
  let wins = 0; let ties = 0; let losses = 0;
  for (let k = 0; k < treatment.length; k++) {
    const d = (treatment[k] as number) - (baseline[k] as number);
    if (Math.abs(d) <= tol) { ties++; outcome[k] = 0.5; } else if (d > 0) { wins++; outcome[k] = 1; } else { losses++; outcome[k] = 0; }
  }
  return { ...meanCI(outcome, options), wins, ties, losses };
}

/** distinct-n over a set of texts or token-id sequences; 0 when there is no n-gram. */
export function distinctN(items: readonly (string | readonly number[])[], n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`distinct-n needs n ≥ 1, got ${n}`);
  const seen = new Set<string>();
  let total = 0;
  for (const item of items) {
    const toks: readonly (string | number)[] = typeof item === 'string' ? words(item) : item;
    for (let i = 0; i + n <= toks.length; i++) {
      seen.add(toks.slice(i, i + n).join('\u0000'));
      total++;
    }
  }
  return total === 0 ? 0 : seen.size / total;
}

/** exp(−Σ log p / #tokens) over all given per-token log-probs (natural log). */
export function perplexity(tokenLogprobs: readonly ArrayLike<number>[]): number {
  let sum = 0;
  let count = 0;
  tokenLogprobs.forEach((seq, s) => {
    for (let t = 0; t < seq.length; t++) {
      const v = seq[t] as number;
      if (Number.isNaN(v) || v > 0 || v === Infinity) throw new InvalidArgumentError(`perplexity: sequence ${s}, token ${t} has log-prob ${v}`);
      sum += v;
      count++;
    }
  });
  if (count === 0) throw new InvalidArgumentError('perplexity: no tokens');
  return perplexityOf(sum, count);
}

export interface KlEstimate {
  estimate: number;
  /** Standard error of the mean. */
  stderr: number;
  n: number;
}

/**
 * Monte Carlo KL(π ‖ π_ref) from samples y_k ~ π with summed log-probs
 * `policy[k]` = log π(y_k|x) and `reference[k]` = log π_ref(y_k|x).
 */
export function klMonteCarlo(policy: ArrayLike<number>, reference: ArrayLike<number>, estimator: 'k1' | 'k3' = 'k1'): KlEstimate {
  const n = policy.length;
  if (n !== reference.length) throw new InvalidArgumentError(`klMonteCarlo: ${n} policy and ${reference.length} reference log-probs`);
  if (n === 0) throw new InvalidArgumentError('klMonteCarlo: no samples');
  checkFinite(policy, 'policy');
  checkFinite(reference, 'reference');
  const terms = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const logRatio = (reference[k] as number) - (policy[k] as number); // log ρ
    terms[k] = estimator === 'k1' ? -logRatio : Math.expm1(logRatio) - logRatio;
  }
  const m = mean(terms);
  const stderr = n > 1 ? Math.sqrt(variance(terms, m) / n) : NaN;
  return { estimate: m, stderr, n };
}

/** log N − (N − 1)/N: the analytic bound on KL(best-of-N ‖ π_ref). */
export function bonKlBound(n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`bonKlBound needs N ≥ 1, got ${n}`);
  return Math.log(n) - (n - 1) / n;
}
