/**
 * Selection on a pool: the first n candidates (a nested subset of the pool's
 * draw), minus candidates with an invalid reward, handed to a selector from
 * src/selection with the sub-matrix of the pool's utility. Pure: the result
 * depends only on the pool's numbers, so it can be recomputed by hand from
 * results.json:
 *
 *   mbr-bon: chosen = argmax_{i ∈ S} proxy_i + β·(1/|S|) Σ_{j ∈ S} u[i][j]
 *
 * with S the subset and ties to the lowest index.
 */
import { InvalidArgumentError } from '../errors.js';
import { Rng } from '../math/rng.js';
import { selectorSpec } from '../selection/registry.js';
import { meanUtility, type SelectionInput, type SelectorName } from '../selection/selectors.js';
import { isValid, type Pool } from './pool.js';
import { referenceInput } from './references.js';

export interface SelectOptions {
  method: SelectorName;
  n: number;
  beta?: number;
  /** Drop candidates without a gold reward too (A/B runs judge the pick by gold). */
  needGold?: boolean;
  /** Seed of the soft-kl draw. */
  seed?: number;
}

export interface PoolSelection {
  method: SelectorName;
  n: number;
  beta: number | null;
  /** Candidate indices in the pool that the selector saw, ascending. */
  subset: number[];
  /** The selector's objective per subset member (same order as `subset`). */
  objective: number[];
  /** ū per subset member, for methods that read the utility. */
  meanUtility?: number[];
  /** The chosen candidate's index in the pool, or null if no candidate was valid. */
  chosen: number | null;
}

/** The k×k sub-matrix of a row-major M×M matrix at `rows` (in order). */
export function subMatrix(matrix: ArrayLike<number>, m: number, rows: readonly number[]): Float64Array {
  const k = rows.length;
  const out = new Float64Array(k * k);
  for (let a = 0; a < k; a++) {
    const base = (rows[a] as number) * m;
    for (let b = 0; b < k; b++) out[a * k + b] = matrix[base + (rows[b] as number)] as number;
  }
  return out;
}

export function checkSelectOptions(o: SelectOptions): void {
  if (!Number.isSafeInteger(o.n) || o.n < 1) throw new InvalidArgumentError(`N must be an integer ≥ 1, got ${o.n}`);
  if (o.beta !== undefined && (!Number.isFinite(o.beta) || o.beta < 0)) throw new InvalidArgumentError(`β must be a finite number ≥ 0, got ${o.beta}`);
  if (selectorSpec(o.method).needs.beta && o.beta === undefined) throw new InvalidArgumentError(`method ${o.method} needs β`);
}

export function selectFromPool(pool: Pool, o: SelectOptions): PoolSelection {
  checkSelectOptions(o);
  const m = pool.candidates.length;
  if (o.n > m) throw new InvalidArgumentError(`N = ${o.n} is larger than the pool (${m} candidates)`);
  const subset = pool.candidates.slice(0, o.n).filter((c) => isValid(c, o.needGold ?? false)).map((c) => c.index);
  const beta = selectorSpec(o.method).needs.beta && o.beta !== undefined ? o.beta : null;
  if (subset.length === 0) return { method: o.method, n: o.n, beta, subset, objective: [], chosen: null };
  return { ...selectSubset(pool, subset, o.method, beta, o.seed ?? 0), n: o.n };
}

/** Runs a selector on an explicit list of pool indices (repeats allowed, as in resampling). */
export function selectSubset(pool: Pool, subset: readonly number[], method: SelectorName, beta: number | null, seed = 0): PoolSelection {
  const m = pool.candidates.length;
  const spec = selectorSpec(method);
  const cand = subset.map((i) => pool.candidates[i]);
  const input: SelectionInput = { rewards: cand.map((c) => c?.proxy ?? NaN) };
  if (spec.needs.logprobs) Object.assign(input, referenceInput(pool, cand));
  if (spec.needs.lengths) input.lengths = cand.map((c) => c?.ids.length ?? 0);
  if (beta !== null) input.beta = beta;
  let mu: Float64Array | undefined;
  if (spec.needs.utility) {
    if (pool.utility.length !== m * m) throw new InvalidArgumentError(`pool ${pool.key} of prompt ${pool.promptIndex} has no utility matrix`);
    input.utility = subMatrix(pool.utility, m, subset);
    mu = meanUtility(input.utility, subset.length);
  }
  if (spec.needs.rng) {
    const rng = new Rng(seed);
    input.rng = () => rng.next();
  }
  const sel = spec.select(input);
  const out: PoolSelection = {
    method, n: subset.length, beta, subset: [...subset], objective: Array.from(sel.objective), chosen: subset[sel.index] ?? null,
  };
  if (mu) out.meanUtility = Array.from(mu);
  return out;
}
