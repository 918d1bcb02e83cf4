/**
 * Held-out separability of a direction method: k-fold over pairs (all samples
 * of a pair stay in one fold). For each fold the method is fitted on the
 * other folds and judged on the held-out pairs:
 *
 * - `accuracy`: fraction of held-out pairs whose preferred side projects
 *   higher (per-token reads: the pair's mean gap);
 * - `margin`: mean held-out projection gap on the unit direction, in residual
 *   units;
 * - `effectSize`: that gap over the pooled within-side standard deviation of
 *   the projections (Cohen's d);
 * - `probeAccuracy`: the same accuracy for the logistic probe, whatever the
 *   method (how linearly separable the concept is at the site).
 */
import { InvalidArgumentError } from '../errors.js';
import { mean, variance } from '../math/stats.js';
import { probe, type DirectionMethod } from './methods.js';
import { l2norm, pairGaps, projections, selectPairs, type ContrastSamples } from './samples.js';

export interface Separability {
  folds: number;
  accuracy: number;
  margin: number;
  effectSize: number;
  probeAccuracy: number;
}

export interface FoldResult {
  /** Fold of each pair. */
  foldOf: Int32Array;
  /** Direction fitted without each fold. */
  directions: Float32Array[];
}

/** Pair i goes to fold i mod k (deterministic and balanced). */
export function foldAssignment(pairs: number, folds: number): Int32Array {
  const k = Math.max(1, Math.min(folds, pairs));
  return Int32Array.from({ length: pairs }, (_, i) => i % k);
}

/** Fits `method` once per fold, leaving that fold out. */
export function fitFolds(samples: ContrastSamples, method: DirectionMethod, folds: number): FoldResult {
  if (samples.pairs < 2) throw new InvalidArgumentError('k-fold evaluation needs at least two pairs');
  const foldOf = foldAssignment(samples.pairs, folds);
  const k = Math.max(...foldOf) + 1;
  const directions: Float32Array[] = [];
  for (let f = 0; f < k; f++) directions.push(method(selectPairs(samples, (p) => foldOf[p] !== f)));
  return { foldOf, directions };
}

function heldOutStats(samples: ContrastSamples, fit: FoldResult): { accuracy: number; margin: number; effectSize: number } {
  const H = samples.hidden;
  let correct = 0;
  let gapSum = 0;
  const posAll: number[] = [];
  const negAll: number[] = [];
  fit.directions.forEach((dir, f) => {
    const unit = new Float64Array(H);
    const n = l2norm(dir);
    for (let h = 0; h < H; h++) unit[h] = (dir[h] as number) / n;
    const held = selectPairs(samples, (p) => fit.foldOf[p] === f);
    for (const g of pairGaps(held, unit)) { if (g > 0) correct++; gapSum += g; }
    const { pos, neg } = projections(held, unit);
    posAll.push(...pos);
    negAll.push(...neg);
  });
  const pooled = Math.sqrt((variance(posAll) + variance(negAll)) / 2);
  const gap = mean(posAll) - mean(negAll);
  return { accuracy: correct / samples.pairs, margin: gapSum / samples.pairs, effectSize: pooled > 0 ? gap / pooled : 0 };
}

export function separability(samples: ContrastSamples, method: DirectionMethod, folds = 5, fit: FoldResult = fitFolds(samples, method, folds)): Separability {
  const stats = heldOutStats(samples, fit);
  const probeFit = fitFolds(samples, probe(), folds);
  return { folds: fit.directions.length, ...stats, probeAccuracy: heldOutStats(samples, probeFit).accuracy };
}
