/**
 * The quantities that several surfaces accept, defined once: the rule and
 * the name each surface knows them by (library option, CLI flag, HTTP
 * field). The library, the CLI and the server all check them from here, so
 * a mistake reads the same everywhere.
 */
import { checkNumber, optionalNumber } from './check.js';
import { numberOption } from './cli.js';
import type { NumberRule } from './number.js';

export interface QuantitySpec {
  /** Library option name, e.g. `topP`. */
  api: string;
  /** CLI flag, e.g. `--top-p`. */
  cli: string;
  /** HTTP request field, e.g. `top_p`. */
  http: string;
  rule: NumberRule;
  /** A narrower rule for HTTP requests, where the OpenAI API sets one (temperature ≤ 2, n ≤ 128, top_k −1 = off). */
  httpRule?: NumberRule;
}

/** Largest |strength| accepted: far beyond any useful value, well inside float32. */
export const MAX_STRENGTH = 1e6;
/** Largest number of rows decoded as one batch. */
export const MAX_BATCH = 4096;

const q = (api: string, cli: string, http: string, rule: NumberRule, httpRule?: NumberRule): QuantitySpec => ({ api, cli, http, rule, ...(httpRule ? { httpRule } : {}) });

/** Most rows one HTTP request may ask for (n). */
export const MAX_HTTP_N = 128;

export const QUANTITIES = {
  temperature: q('temperature', '--temperature', 'temperature', { min: 0 }, { min: 0, max: 2 }),
  topP: q('topP', '--top-p', 'top_p', { above: 0, max: 1 }),
  topK: q('topK', '--top-k', 'top_k', { integer: true, min: 0 }, { integer: true, min: -1 }),
  minP: q('minP', '--min-p', 'min_p', { min: 0, max: 1 }),
  repetitionPenalty: q('repetitionPenalty', '--repetition-penalty', 'repetition_penalty', { above: 0 }),
  seed: q('seed', '--seed', 'seed', { integer: true }),
  n: q('n', '--n', 'n', { integer: true, min: 1, max: MAX_BATCH }, { integer: true, min: 1, max: MAX_HTTP_N }),
  maxNewTokens: q('maxNewTokens', '--max-new-tokens', 'max_tokens', { integer: true, min: 1 }, { integer: true, min: 0 }),
  strength: q('strength', '--strength', 'strength', { min: -MAX_STRENGTH, max: MAX_STRENGTH }),
  threads: q('intraOpNumThreads', '--threads', 'threads', { integer: true, min: 1, max: 1024 }),
  folds: q('folds', '--folds', 'folds', { integer: true, min: 2 }),
  beta: q('beta', '--beta', 'beta', { min: 0 }),
  klResamples: q('klResamples', '--kl-resamples', 'kl_resamples', { integer: true, min: 1 }),
  limit: q('limit', '--limit', 'limit', { integer: true, min: 1 }),
  batchSize: q('batchSize', '--batch-size', 'batch_size', { integer: true, min: 1, max: MAX_BATCH }),
  maxPerplexityRatio: q('maxPerplexityRatio', '--max-perplexity-ratio', 'max_perplexity_ratio', { above: 0 }),
} satisfies Record<string, QuantitySpec>;

export type QuantityName = keyof typeof QUANTITIES;

/** The commander parser for a quantity's flag. */
export function quantityOption(name: QuantityName): (text: string) => number {
  const spec = QUANTITIES[name];
  return numberOption(spec.cli, spec.rule);
}

/** Checks a library option value (undefined passes). */
export function quantity(name: QuantityName, value: unknown): number | undefined {
  const spec = QUANTITIES[name];
  return optionalNumber(value, spec.api, spec.rule);
}

/** Checks a request field of the server (undefined passes); `field` renames it (max_completion_tokens). */
export function httpQuantity(name: QuantityName, value: unknown, field?: string): number | undefined {
  const spec = QUANTITIES[name];
  return value === undefined ? undefined : checkNumber(value, field ?? spec.http, spec.httpRule ?? spec.rule);
}
