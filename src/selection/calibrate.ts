/**
 * β calibration: a grid search over β on dev prompts against a gold reward.
 * For each β, the selector picks one candidate per prompt using the proxy
 * rewards (and utilities, log-probs, lengths as it needs); the score of β is
 * the mean gold reward of the picks. For `soft-kl` the pick is random, so the
 * expected gold reward under its selection distribution, Σ_i P(i)·gold_i, is
 * used instead of a draw. The best β has the highest mean gold reward; ties go
 * to the smaller β.
 */
import { InvalidArgumentError } from '../errors.js';
import { getSelector } from './registry.js';
import { softKlProbabilities, type SelectionInput, type Selector, type SelectorName } from './selectors.js';

export interface CalibrationPrompt {
  /** Proxy rewards of the N candidates (what the selector sees). */
  proxy: ArrayLike<number>;
  /** Gold rewards of the same candidates (what β is judged by). */
  gold: ArrayLike<number>;
  utility?: ArrayLike<number>;
  logprobs?: ArrayLike<number>;
  lengths?: ArrayLike<number>;
}

export interface CalibrationRow {
  beta: number;
  /** Mean over prompts of the gold reward of the selected candidate. */
  meanGold: number;
  /** Mean over prompts of the proxy reward of the selected candidate. */
  meanProxy: number;
}

export interface CalibrationResult {
  selector: string;
  /** One row per β, ascending. */
  table: CalibrationRow[];
  best: CalibrationRow;
}

/** A log-spaced default grid, with 0 (plain BoN for the regularised selectors). */
export const DEFAULT_BETA_GRID: readonly number[] = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30];

export function calibrateBeta(
  prompts: readonly CalibrationPrompt[],
  options: { selector: SelectorName; betas?: readonly number[] },
): CalibrationResult {
  if (prompts.length === 0) throw new InvalidArgumentError('calibrateBeta: needs at least one dev prompt');
  const name = options.selector;
  const selector: Selector = getSelector(name);
  const betas = [...new Set(options.betas ?? DEFAULT_BETA_GRID)].sort((a, b) => a - b);
  if (betas.length === 0) throw new InvalidArgumentError('calibrateBeta: the β grid is empty');
  for (const b of betas) if (!Number.isFinite(b) || b < 0) throw new InvalidArgumentError(`calibrateBeta: β must be finite and ≥ 0, got ${b}`);
  prompts.forEach((p, k) => {
    if (p.gold.length !== p.proxy.length) throw new InvalidArgumentError(`calibrateBeta: prompt ${k} has ${p.proxy.length} proxy and ${p.gold.length} gold rewards`);
    for (let i = 0; i < p.gold.length; i++) {
      if (!Number.isFinite(p.gold[i])) throw new InvalidArgumentError(`calibrateBeta: prompt ${k}: gold[${i}] is ${p.gold[i]} (candidate ${i})`);
    }
  });
  const table = betas.map((beta): CalibrationRow => {
    let gold = 0;
    let proxy = 0;
    prompts.forEach((p) => {
      const input: SelectionInput = { rewards: p.proxy, beta, rng: () => 0 };
      if (p.utility) input.utility = p.utility;
      if (p.logprobs) input.logprobs = p.logprobs;
      if (p.lengths) input.lengths = p.lengths;
      if (name === 'soft-kl') {
        selector(input); // validates the input
        const { probabilities } = softKlProbabilities(p.proxy, beta);
        for (let i = 0; i < probabilities.length; i++) {
          gold += (probabilities[i] as number) * (p.gold[i] as number);
          proxy += (probabilities[i] as number) * (p.proxy[i] as number);
        }
      } else {
        const { index } = selector(input);
        gold += p.gold[index] as number;
        proxy += p.proxy[index] as number;
      }
    });
    return { beta, meanGold: gold / prompts.length, meanProxy: proxy / prompts.length };
  });
  let best = table[0] as CalibrationRow;
  for (const row of table) if (row.meanGold > best.meanGold) best = row;
  return { selector: name, table, best };
}
