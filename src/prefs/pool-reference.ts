/**
 * MRPO's combined reference over a pool of N candidates instead of one
 * preference pair, for KL-regularised selection (KL-BoN) with several
 * reference models. The pieces are the pair criterion's (criteria.ts):
 *
 *   - the first reference is the anchor (MRPO's initial policy); every other
 *     reference's log-prob of candidate i is clipped into the anchor's band
 *     [(1+ε)·l_anchor(y_i), (1−ε)·l_anchor(y_i)] (clipToAnchor), per
 *     candidate, as MRPO clips per response;
 *   - the pool's pairs are its candidates ordered by the reward the selector
 *     maximises: every (i, j) with R_i > R_j is a preference pair with y_i
 *     chosen (ties are no preference and are left out). Δ_k is reference k's
 *     mean margin over those pairs, Δ_k = mean_{R_i > R_j} c_k(y_i) − c_k(y_j)
 *     on the clipped log-probs c_k; for N = 2 that is exactly MRPO's Δ of the
 *     pair (chosen = the higher reward);
 *   - weights w_k ∝ 1/|Δ_k| (mrpoWeights), one set for the whole pool, so the
 *     candidates are compared against one combined reference;
 *   - l̃(y_i) = −log Σ_k w_k·exp(−c_k(y_i)) (combinedLogprob).
 *
 * With no ordered pair (N = 1, or all rewards equal) every Δ_k is 0 and the
 * weights are uniform, as in the pair criterion.
 */
import { InvalidArgumentError } from '../errors.js';
import { clipToAnchor, combinedLogprob, mrpoWeights } from './criteria.js';

export interface PoolReference {
  /** Weight of every reference, in order (the anchor first; α for K = 2). */
  weights: number[];
  /** Δ_k, the mean reward-ordered margin of each clipped reference. */
  deltas: number[];
  /** l̃ per candidate. */
  combined: Float64Array;
}

/** references[k][i]: summed log-prob of candidate i under reference k (the first is the anchor). */
export function mrpoPoolReference(references: readonly ArrayLike<number>[], rewards: ArrayLike<number>, epsilon: number): PoolReference {
  const k = references.length;
  if (k < 1) throw new InvalidArgumentError('the combined reference needs at least one reference');
  if (!(Number.isFinite(epsilon) && epsilon > 0 && epsilon < 1)) throw new InvalidArgumentError(`ε must lie in (0, 1), got ${epsilon}`);
  const n = rewards.length;
  const anchor = references[0] as ArrayLike<number>;
  for (const [r, ref] of references.entries()) {
    if (ref.length !== n) throw new InvalidArgumentError(`reference ${r} has ${ref.length} log-probs for ${n} candidates`);
  }
  const clipped = references.map((ref, r) => Float64Array.from({ length: n }, (_, i) => (
    r === 0 ? (ref[i] as number) : clipToAnchor(ref[i] as number, anchor[i] as number, epsilon)
  )));
  const sums = new Float64Array(k);
  let pairs = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (!((rewards[i] as number) > (rewards[j] as number))) continue;
      pairs++;
      for (let r = 0; r < k; r++) {
        const c = clipped[r] as Float64Array;
        sums[r] = (sums[r] as number) + (c[i] as number) - (c[j] as number);
      }
    }
  }
  const deltas = Array.from(sums, (s) => (pairs === 0 ? 0 : s / pairs));
  const weights = mrpoWeights(deltas);
  const combined = Float64Array.from({ length: n }, (_, i) => combinedLogprob(clipped.map((c) => c[i] as number), weights));
  return { weights, deltas, combined };
}
