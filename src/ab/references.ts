/**
 * Several reference models in an A/B run (`ab --reference a --reference b`).
 *
 * Every pool's candidates are scored under each reference (score(); the run's
 * own model reuses refLogprob), so that
 *
 * - KL-BoN's reference log-prob is MRPO's combined l̃ of the references over
 *   the candidates it selects among (src/prefs/pool-reference.ts; the first
 *   reference is the anchor, MRPO's initial policy); with one reference it is
 *   that model's log-prob;
 * - every arm reports KL against each reference and against l̃.
 *
 * What the KL columns estimate. The pools are drawn from the run's model π_ref,
 * so for any arm with output distribution π_arm and any reference q,
 *
 *   KL(π_arm ‖ q) = KL(π_arm ‖ π_ref) + E_{y∼π_arm}[log π_ref(y) − log q(y)].
 *
 * The first term is the arm's usual estimate (metrics.ts, kl.ts); the second is
 * estimated on the same samples: for sample arms (baseline, steering, policy)
 * the mean over their N_max draws per prompt (the baseline: the reference
 * pool's draws), for selection arms Σ_y π̂_sel(y)·(log π_ref(y) − log q(y))
 * under the plug-in pick distribution of kl.ts; then averaged over prompts.
 * For q = π_ref the second term is 0 and the column equals the usual one.
 * "Combined" takes log q = l̃ with the weights of the pool's valid candidates
 * (proxy-ordered, as KL-BoN uses them). l̃ is a weighted harmonic mean of the
 * references' probabilities, a sub-probability (Σ_y e^{l̃(y)} = Z ≤ 1 without
 * clipping), so that column is E[log π_arm − l̃] = KL(π_arm ‖ e^{l̃}/Z) − log Z,
 * an upper bound on the KL to the normalised combination.
 */
import { InvalidArgumentError } from '../errors.js';
import { checkSameVocabulary } from '../prefs/compat.js';
import { mrpoPoolReference } from '../prefs/pool-reference.js';
import type { HookedModel } from '../model/hooked-model.js';
import type { SelectionInput } from '../selection/selectors.js';
import { isValid, type Candidate, type Pool } from './pool.js';

/** A reference model of an A/B run: a name for the report and the model. */
export interface ReferenceModel {
  name: string;
  model: HookedModel;
}

export interface ReferenceKl {
  reference: string;
  estimate: number | null;
}

export interface ReferenceKlReport {
  /** KL(π_arm ‖ q_k) per reference, in order. */
  references: ReferenceKl[];
  /** E[log π_arm − l̃] (see the module comment); null with one reference. */
  combined: number | null;
  estimator: string;
}

/** Refuses references that cannot be compared with the run's model (typed error naming both). */
export function checkReferences(model: HookedModel, references: readonly ReferenceModel[], epsilon: number | undefined): void {
  if (epsilon !== undefined && !(Number.isFinite(epsilon) && epsilon > 0 && epsilon < 1)) throw new InvalidArgumentError(`ε must lie in (0, 1), got ${epsilon}`);
  if (epsilon !== undefined && references.length < 2) throw new InvalidArgumentError('ε is MRPO\'s clipping of several references: give at least two references');
  const [anchor, ...others] = references;
  if (!anchor) return;
  checkSameVocabulary(model, anchor.model, ['model', `reference ${anchor.name}`]);
  for (const r of others) checkSameVocabulary(anchor.model, r.model, [`reference ${anchor.name}`, `reference ${r.name}`]);
}

/**
 * Fills referenceLogprobs of every candidate: log π_k(y | x) under each
 * reference. Call after annotatePool (refLogprob, the run's model, is reused
 * for a reference that is that model).
 */
export async function scoreUnderReferences(model: HookedModel, pool: Pool, references: readonly ReferenceModel[], epsilon: number): Promise<void> {
  const t = performance.now();
  const ids = pool.candidates.map((c) => c.ids);
  const columns: number[][] = [];
  for (const r of references) {
    if (r.model === model) { columns.push(pool.candidates.map((c) => c.refLogprob)); continue; }
    const scored = await r.model.score(pool.prompt, ids);
    columns.push(pool.candidates.map((_, i) => scored[i]?.logprob ?? NaN));
  }
  pool.candidates.forEach((c, i) => { c.referenceLogprobs = columns.map((col) => col[i] as number); });
  pool.references = { names: references.map((r) => r.name), epsilon };
  pool.timing.scoreMs += performance.now() - t;
}

/** What a selector reads as its reference: log π_ref, one reference's log-probs, or several to combine. */
export function referenceInput(pool: Pool, cand: readonly (Candidate | undefined)[]): Pick<SelectionInput, 'logprobs' | 'references' | 'epsilon'> {
  const refs = pool.references;
  if (!refs) return { logprobs: cand.map((c) => c?.refLogprob ?? NaN) };
  const columns = refs.names.map((_, k) => cand.map((c) => c?.referenceLogprobs?.[k] ?? NaN));
  return columns.length === 1 ? { logprobs: columns[0] } : { references: columns, epsilon: refs.epsilon };
}

/** log π_ref(y) − log q(y) per reference (and against l̃ last, when there are several), for the pool's valid candidates. */
function logRatios(pool: Pool): Map<number, number[]> | null {
  const refs = pool.references;
  if (!refs) return null;
  const valid = pool.candidates.filter((c) => isValid(c, true) && Number.isFinite(c.refLogprob) && (c.referenceLogprobs ?? []).every(Number.isFinite));
  const out = new Map<number, number[]>();
  if (valid.length === 0) return out;
  const combined = refs.names.length >= 2
    ? mrpoPoolReference(refs.names.map((_, k) => valid.map((c) => c.referenceLogprobs?.[k] as number)), valid.map((c) => c.proxy as number), refs.epsilon).combined
    : null;
  valid.forEach((c, i) => {
    const r = (c.referenceLogprobs ?? []).map((l) => c.refLogprob - l);
    if (combined) r.push(c.refLogprob - (combined[i] as number));
    out.set(c.index, r);
  });
  return out;
}

function report(names: readonly string[], base: number | null, sums: Float64Array, counts: number, estimator: string): ReferenceKlReport {
  const value = (k: number): number | null => (base === null || counts === 0 ? null : base + (sums[k] as number) / counts);
  return {
    references: names.map((reference, k) => ({ reference, estimate: value(k) })),
    combined: names.length >= 2 ? value(names.length) : null,
    estimator,
  };
}

const FORMULA = 'KL(π_arm ‖ q) = KL(π_arm ‖ π_ref) + E_π_arm[log π_ref − log q]';

/** Sample arms: the second term is the mean over the arm's own draws (`pools`: N_max per prompt). */
export function sampleReferenceKl(pools: readonly Pool[], base: number | null): ReferenceKlReport | null {
  const names = pools.find((p) => p.references)?.references?.names;
  if (!names) return null;
  const perPrompt: number[][] = [];
  for (const pool of pools) {
    const ratios = [...(logRatios(pool)?.values() ?? [])];
    if (ratios.length === 0) continue;
    perPrompt.push((ratios[0] as number[]).map((_, k) => ratios.reduce((s, r) => s + (r[k] as number), 0) / ratios.length));
  }
  const sums = new Float64Array(names.length + 1);
  for (const r of perPrompt) r.forEach((v, k) => { sums[k] = (sums[k] as number) + v; });
  return report(names, base, sums, perPrompt.length, `${FORMULA}, the second term the mean over the arm's draws`);
}

/** Selection arms: the second term under the plug-in pick distribution of each pool. */
export function selectionReferenceKl(pools: readonly Pool[], distributions: readonly ({ members: readonly number[]; picks: ArrayLike<number> } | null)[], base: number | null): ReferenceKlReport | null {
  const names = pools.find((p) => p.references)?.references?.names;
  if (!names) return null;
  const sums = new Float64Array(names.length + 1);
  let counts = 0;
  pools.forEach((pool, k) => {
    const d = distributions[k];
    const ratios = logRatios(pool);
    if (!d || !ratios) return;
    const term = new Float64Array(names.length + 1);
    let mass = 0;
    d.members.forEach((i, g) => {
      const p = d.picks[g] as number;
      const r = ratios.get(i);
      if (p === 0 || !r) return;
      mass += p;
      r.forEach((v, j) => { term[j] = (term[j] as number) + p * v; });
    });
    if (mass === 0) return;
    for (let j = 0; j < term.length; j++) sums[j] = (sums[j] as number) + (term[j] as number) / mass;
    counts++;
  });
  return report(names, base, sums, counts, `${FORMULA}, the second term under the plug-in pick distribution`);
}
