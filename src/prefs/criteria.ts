/**
 * Preference criteria as pure functions of summed log-probabilities: DPO,
 * RPO and MRPO, evaluated on pairs rather than optimised. Every number is a
 * function of log π(y|x) summed over the response's tokens (nats), for the
 * chosen y_w and the rejected y_l of each pair, under the policy π and under
 * one or more references.
 *
 *   DPO   margin_i = β·[(l_π(y_w) − l_ref(y_w)) − (l_π(y_l) − l_ref(y_l))]
 *         loss     = mean_i −log σ(margin_i),  accuracy = mean_i [margin_i > 0]
 *   RPO   loss     = L_DPO + η·β·mean_i −l_π(y_w)             (Liu et al. 2024)
 *         per-token variant: −l_π(y_w)/|y_w| in place of −l_π(y_w)
 *   MRPO  (Le et al. 2024) references l_1 … l_K, the first the initial policy
 *         (the anchor, the paper's l2), the others external (the paper's l1):
 *         - clip every external l_k into [(1+ε)·l_anchor, (1−ε)·l_anchor],
 *           separately for y_w and y_l;
 *         - Δ_k = l_k(y_w) − l_k(y_l), after clipping;
 *         - combined reference l̃ = −log Σ_k w_k·exp(−l_k) (log-sum-exp),
 *           a weighted harmonic mean of the references' probabilities, with
 *           w_k ∝ 1/|Δ_k|;
 *         - the DPO loss with l̃ as the reference.
 *         With K = 2 the weights are w_anchor = α, w_external = 1 − α with
 *         α = |Δ1|/(|Δ1| + |Δ2|), and l̃ = l1 + l2 − log(α·e^{l1} + (1−α)·e^{l2}),
 *         the paper's formula. Weights with Δ_k = 0 take all the mass (shared
 *         equally); with every Δ_k = 0 the weights are uniform (α = 1/2).
 *
 * Everything is float64 and numerically stable (log σ through log1p, log-sum-
 * exp with the maximum taken out).
 */
import { InvalidArgumentError } from '../errors.js';

/** Summed log-probabilities (nats) of a pair's two responses under one model. */
export interface SideLogprobs {
  chosen: number;
  rejected: number;
}

/** The pair under the policy, with token counts. */
export interface PolicyLogprobs extends SideLogprobs {
  chosenTokens: number;
  rejectedTokens: number;
}

export interface CriterionParams {
  /** DPO temperature β > 0 (default 0.1). */
  beta: number;
  /** RPO weight η ≥ 0 of the chosen-response NLL (default 0.005). */
  eta: number;
  /** MRPO clipping ε in (0, 1) (default 0.1). */
  epsilon: number;
}

export const DEFAULT_CRITERION_PARAMS: Readonly<CriterionParams> = Object.freeze({ beta: 0.1, eta: 0.005, epsilon: 0.1 });

export function checkCriterionParams(p: CriterionParams): void {
  if (!(Number.isFinite(p.beta) && p.beta > 0)) throw new InvalidArgumentError(`β must be a finite number > 0, got ${p.beta}`);
  if (!(Number.isFinite(p.eta) && p.eta >= 0)) throw new InvalidArgumentError(`η must be a finite number ≥ 0, got ${p.eta}`);
  if (!(Number.isFinite(p.epsilon) && p.epsilon > 0 && p.epsilon < 1)) throw new InvalidArgumentError(`ε must lie in (0, 1), got ${p.epsilon}`);
}

/** log σ(x) = −log(1 + e^{−x}), stable for every finite x. */
export function logSigmoid(x: number): number {
  return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
}

/** log Σ_i exp(x_i), with the maximum taken out. */
export function logSumExp(xs: readonly number[]): number {
  let max = -Infinity;
  for (const x of xs) if (x > max) max = x;
  if (max === -Infinity) return -Infinity;
  if (max === Infinity) return Infinity;
  let s = 0;
  for (const x of xs) s += Math.exp(x - max);
  return max + Math.log(s);
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

function checkFinite(values: readonly SideLogprobs[], who: string): void {
  values.forEach((v, i) => {
    if (!Number.isFinite(v.chosen) || !Number.isFinite(v.rejected)) throw new InvalidArgumentError(`${who}: pair ${i} has a non-finite log-prob (${v.chosen}, ${v.rejected})`);
  });
}

/** The DPO implicit reward margin of one pair. */
export function dpoMargin(policy: SideLogprobs, reference: SideLogprobs, beta: number): number {
  return beta * ((policy.chosen - reference.chosen) - (policy.rejected - reference.rejected));
}

export interface DpoResult {
  /** Mean of −log σ(margin). */
  loss: number;
  /** Fraction of pairs with margin > 0. */
  accuracy: number;
  /** Mean margin. */
  margin: number;
  margins: number[];
  losses: number[];
}

export function dpo(policy: readonly SideLogprobs[], reference: readonly SideLogprobs[], beta: number): DpoResult {
  if (policy.length === 0) throw new InvalidArgumentError('DPO needs at least one pair');
  if (reference.length !== policy.length) throw new InvalidArgumentError(`DPO: ${policy.length} policy pairs but ${reference.length} reference pairs`);
  if (!(Number.isFinite(beta) && beta > 0)) throw new InvalidArgumentError(`β must be a finite number > 0, got ${beta}`);
  checkFinite(policy, 'policy');
  checkFinite(reference, 'reference');
  const margins = policy.map((p, i) => dpoMargin(p, reference[i] as SideLogprobs, beta));
  const losses = margins.map((m) => -logSigmoid(m));
  return { loss: mean(losses), accuracy: margins.filter((m) => m > 0).length / margins.length, margin: mean(margins), margins, losses };
}

export interface RpoResult {
  /** L_DPO + η·β·nll. */
  loss: number;
  /** Mean over pairs of −l_π(y_w), summed over the response's tokens. */
  nll: number;
  /** L_DPO + η·β·nllPerToken. */
  lossPerToken: number;
  /** Mean over pairs of −l_π(y_w)/|y_w|. */
  nllPerToken: number;
}

/** RPO from a DPO result and the policy's chosen log-probs (η ≥ 0). */
export function rpo(dpoResult: Pick<DpoResult, 'loss'>, policy: readonly PolicyLogprobs[], beta: number, eta: number): RpoResult {
  if (!(Number.isFinite(eta) && eta >= 0)) throw new InvalidArgumentError(`η must be a finite number ≥ 0, got ${eta}`);
  for (const [i, p] of policy.entries()) {
    if (!(Number.isInteger(p.chosenTokens) && p.chosenTokens > 0)) throw new InvalidArgumentError(`RPO: pair ${i} has ${p.chosenTokens} chosen tokens`);
  }
  const nll = mean(policy.map((p) => -p.chosen));
  const nllPerToken = mean(policy.map((p) => -p.chosen / p.chosenTokens));
  return { loss: dpoResult.loss + eta * beta * nll, nll, lossPerToken: dpoResult.loss + eta * beta * nllPerToken, nllPerToken };
}

/** Clips x into the band [(1+ε)·anchor, (1−ε)·anchor] (bounds ordered, so any sign works). */
export function clipToAnchor(x: number, anchor: number, epsilon: number): number {
  const a = (1 + epsilon) * anchor;
  const b = (1 - epsilon) * anchor;
  return Math.min(Math.max(x, Math.min(a, b)), Math.max(a, b));
}

/**
 * Combination weights w_k ∝ 1/|Δ_k| (see the module comment), computed
 * without dividing by zero: the zero margins share all the mass, else
 * w_k = (1/|Δ_k|)/Σ_j(1/|Δ_j|).
 */
export function mrpoWeights(deltas: readonly number[]): number[] {
  const k = deltas.length;
  if (k === 0) throw new InvalidArgumentError('MRPO needs at least one reference');
  const abs = deltas.map((d) => Math.abs(d));
  const zeros = abs.filter((a) => a === 0).length;
  if (zeros > 0) return abs.map((a) => (a === 0 ? 1 / zeros : 0));
  // Scale by the smallest margin first so that 1/|Δ| cannot overflow.
  const min = Math.min(...abs);
  const inv = abs.map((a) => min / a);
  const s = inv.reduce((x, y) => x + y, 0);
  return inv.map((v) => v / s);
}

/** l̃ = −log Σ_k w_k·exp(−l_k), by log-sum-exp. Weights of 0 drop out. */
export function combinedLogprob(logprobs: readonly number[], weights: readonly number[]): number {
  if (logprobs.length !== weights.length) throw new InvalidArgumentError(`${logprobs.length} log-probs for ${weights.length} weights`);
  // Equal log-probs combine to themselves (the weights sum to 1); return it exactly, not up to rounding.
  const first = logprobs.find((_, k) => (weights[k] as number) > 0);
  if (first !== undefined && logprobs.every((l, k) => l === first || !((weights[k] as number) > 0))) return first;
  const terms: number[] = [];
  logprobs.forEach((l, k) => {
    const w = weights[k] as number;
    if (w > 0) terms.push(Math.log(w) - l);
  });
  return -logSumExp(terms);
}

/** The K = 2 formula as the issue and the paper write it: l1 + l2 − log(α·e^{l1} + (1−α)·e^{l2}). */
export function combinedLogprob2(l1: number, l2: number, alpha: number): number {
  const terms: number[] = [];
  if (alpha > 0) terms.push(Math.log(alpha) + l1);
  if (alpha < 1) terms.push(Math.log(1 - alpha) + l2);
  return l1 + l2 - logSumExp(terms);
}

export interface MrpoPair {
  /** Weight of the first reference (the initial policy): α for K = 2. */
  alpha: number;
  /** Weight of every reference, in order. */
  weights: number[];
  /** The combined reference l̃ for y_w and y_l. */
  combined: SideLogprobs;
  /** The references after clipping (the anchor is never clipped). */
  clipped: SideLogprobs[];
}

/** MRPO's combined reference for one pair; `references[0]` is the anchor (initial policy). */
export function mrpoPair(references: readonly SideLogprobs[], epsilon: number): MrpoPair {
  if (references.length < 2) throw new InvalidArgumentError(`MRPO needs at least two references (the initial policy and an external one), got ${references.length}`);
  if (!(Number.isFinite(epsilon) && epsilon > 0 && epsilon < 1)) throw new InvalidArgumentError(`ε must lie in (0, 1), got ${epsilon}`);
  const anchor = references[0] as SideLogprobs;
  const clipped = references.map((r, k) => (k === 0 ? { ...r } : {
    chosen: clipToAnchor(r.chosen, anchor.chosen, epsilon),
    rejected: clipToAnchor(r.rejected, anchor.rejected, epsilon),
  }));
  const weights = mrpoWeights(clipped.map((r) => r.chosen - r.rejected));
  return {
    alpha: weights[0] as number,
    weights,
    combined: {
      chosen: combinedLogprob(clipped.map((r) => r.chosen), weights),
      rejected: combinedLogprob(clipped.map((r) => r.rejected), weights),
    },
    clipped,
  };
}

export interface MrpoResult extends DpoResult {
  /** Per pair, the weight of the initial policy (α for K = 2). */
  alpha: number[];
  /** Per pair, every reference's weight. */
  weights: number[][];
  /** Per pair, the combined reference l̃. */
  combined: SideLogprobs[];
}

/** references[k][i]: reference k on pair i. */
export function mrpo(policy: readonly SideLogprobs[], references: readonly (readonly SideLogprobs[])[], beta: number, epsilon: number): MrpoResult {
  if (references.length < 2) throw new InvalidArgumentError(`MRPO needs at least two references (the initial policy and an external one), got ${references.length}`);
  for (const [k, r] of references.entries()) {
    if (r.length !== policy.length) throw new InvalidArgumentError(`MRPO: reference ${k} has ${r.length} pairs, the policy ${policy.length}`);
    checkFinite(r, `reference ${k}`);
  }
  const pairs = policy.map((_, i) => mrpoPair(references.map((r) => r[i] as SideLogprobs), epsilon));
  const combined = pairs.map((p) => p.combined);
  return { ...dpo(policy, combined, beta), alpha: pairs.map((p) => p.alpha), weights: pairs.map((p) => p.weights), combined };
}

export interface Shifts {
  /** Mean over pairs of l_π(y_w) − l_ref(y_w). */
  chosenShift: number;
  /** Mean over pairs of l_π(y_l) − l_ref(y_l). */
  rejectedShift: number;
}

export function shifts(policy: readonly SideLogprobs[], reference: readonly SideLogprobs[]): Shifts {
  if (reference.length !== policy.length) throw new InvalidArgumentError(`${policy.length} policy pairs but ${reference.length} reference pairs`);
  return {
    chosenShift: mean(policy.map((p, i) => p.chosen - (reference[i] as SideLogprobs).chosen)),
    rejectedShift: mean(policy.map((p, i) => p.rejected - (reference[i] as SideLogprobs).rejected)),
  };
}

export interface PreferenceCriteria extends Shifts {
  dpo: DpoResult;
  rpo: RpoResult;
  /** null with one reference. */
  mrpo: MrpoResult | null;
  /** The overoptimization symptom: the margin rose while the chosen log-prob fell. */
  chosenFell: boolean;
}

/** Every criterion at once; DPO, RPO and the shifts use the first reference. */
export function preferenceCriteria(policy: readonly PolicyLogprobs[], references: readonly (readonly SideLogprobs[])[], params: CriterionParams): PreferenceCriteria {
  checkCriterionParams(params);
  const first = references[0];
  if (!first) throw new InvalidArgumentError('give at least one reference');
  const d = dpo(policy, first, params.beta);
  const s = shifts(policy, first);
  return {
    dpo: d,
    rpo: rpo(d, policy, params.beta, params.eta),
    mrpo: references.length >= 2 ? mrpo(policy, references, params.beta, params.epsilon) : null,
    ...s,
    chosenFell: s.chosenShift < 0,
  };
}
