/**
 * Per-arm metrics from the picks: gold and proxy reward (mean, 95% bootstrap
 * CI over prompts), the paired win rate against the baseline under the gold
 * reward, KL to π_ref (see kl.ts for the estimators), perplexity of the picks
 * under π_ref, distinct-1/2 over the picks, and cost. Pure: pools and picks in,
 * numbers out.
 *
 * Cost counts what the arm alone would spend to produce its outputs: the
 * tokens of the candidates it draws (the first N rows of a pool; rows do not
 * depend on the batch size), the policy-model forward passes of that batch
 * (prefill + the longest row − 1) plus the capture passes of a utility that
 * reads activations, and wall time: measured for single-draw arms, and for
 * selection arms the pool's measured generation time × the arm's share of
 * its tokens, plus reward, capture and utility time × N/M (an estimate).
 * Scoring done only to evaluate (KL, perplexity) is not counted.
 */
import { InvalidArgumentError } from '../errors.js';
import { selectorSpec } from '../selection/registry.js';
import { distinctN, klMonteCarlo, meanCI, perplexity, winRate, type Interval, type WinRate } from '../selection/stats.js';
import type { ArmSpec } from './arms.js';
import { klBound, pluginKl, selectionDistribution, steeringLogRatio, type SelectionDistribution } from './kl.js';
import { sampleReferenceKl, selectionReferenceKl, type ReferenceKlReport } from './references.js';
import { CAPTURE_BATCH, isValid, type Pool } from './pool.js';
import type { PoolSelection } from './pool-selection.js';

export interface KlReport {
  estimate: number | null;
  stderr?: number;
  estimator: string;
  bound: number | null;
  boundFormula?: string;
  /** With several reference models (ABOptions.references): KL against each and against the combined l̃ (references.ts). */
  references?: ReferenceKlReport;
}

export interface ArmCost {
  generatedTokens: number;
  forwardPasses: number;
  wallMs: number;
}

export interface ArmResult {
  arm: ArmSpec;
  /** Prompts with a valid pick. */
  prompts: number;
  gold: Interval | null;
  proxy: Interval | null;
  winRate: WinRate | null;
  kl: KlReport;
  perplexity: number | null;
  distinct1: number;
  distinct2: number;
  cost: ArmCost;
}

export interface EvaluateOptions {
  bootstrap?: { resamples?: number; seed?: number };
  klResamples?: number;
  seed?: number;
  /** Whether the utility reads activations (adds capture passes to selection arms). */
  utilityCaptures?: boolean;
}

/** One entry per prompt: the arm's pool and its pick. */
export interface ArmPicks {
  arm: ArmSpec;
  pools: readonly Pool[];
  picks: readonly PoolSelection[];
  /** Steering arms: the pools of N_max steered draws for the KL estimate (default: `pools`). */
  klPools?: readonly Pool[];
}

function pickedGold(p: ArmPicks): (number | null)[] {
  return p.picks.map((s, k) => (s.chosen === null ? null : (p.pools[k]?.candidates[s.chosen]?.gold ?? null)));
}

function intervalOf(values: (number | null)[], seed: number, resamples?: number): Interval | null {
  const v = values.filter((x): x is number => x !== null);
  return v.length === 0 ? null : meanCI(v, { seed, ...(resamples !== undefined ? { resamples } : {}) });
}

function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

export function armCost(arm: ArmSpec, pools: readonly Pool[], picks: readonly PoolSelection[], utilityCaptures: boolean): ArmCost {
  let generatedTokens = 0; let forwardPasses = 0; let wallMs = 0;
  pools.forEach((pool, k) => {
    const m = pool.candidates.length;
    const used = arm.method === 'sample' ? (picks[k]?.subset ?? []) : pool.candidates.slice(0, arm.n).map((c) => c.index);
    if (used.length === 0 || m === 0) return;
    const lens = used.map((i) => pool.candidates[i]?.ids.length ?? 0);
    const tokens = lens.reduce((a, b) => a + b, 0);
    generatedTokens += tokens;
    forwardPasses += pool.timing.prefillPasses + Math.max(0, Math.max(...lens) - 1);
    const t = pool.timing;
    wallMs += t.generatedTokens > 0 ? t.generateMs * (tokens / t.generatedTokens) : 0;
    if (arm.method !== 'sample') {
      const share = used.length / m;
      wallMs += t.rewardMs * share;
      if (selectorSpec(arm.method).needs.utility) {
        wallMs += (t.captureMs + t.utilityMs) * share;
        if (utilityCaptures) forwardPasses += Math.ceil(used.length / CAPTURE_BATCH);
      }
    }
  });
  return { generatedTokens, forwardPasses, wallMs };
}

function armKl(p: ArmPicks, o: EvaluateOptions): KlReport {
  const r = armKlToRef(p, o);
  const refs = p.arm.method === 'sample' ? sampleReferenceKl(p.klPools ?? p.pools, r.report.estimate) : selectionReferenceKl(p.pools, r.distributions, r.report.estimate);
  return refs ? { ...r.report, references: refs } : r.report;
}

function armKlToRef(p: ArmPicks, o: EvaluateOptions): { report: KlReport; distributions: (SelectionDistribution | null)[] } {
  const { arm } = p;
  const only = (report: KlReport) => ({ report, distributions: [] });
  const resamples = o.klResamples ?? 1000;
  if (arm.kind === 'baseline') return only({ estimate: 0, estimator: 'exact: the baseline samples π_ref', bound: 0 });
  if (arm.kind === 'steering' || arm.kind === 'policy') {
    const policy: number[] = []; const reference: number[] = [];
    for (const pool of p.klPools ?? p.pools) {
      for (const c of pool.candidates) {
        if (c.steeredLogprob === undefined || !Number.isFinite(c.refLogprob)) continue;
        policy.push(c.steeredLogprob); reference.push(c.refLogprob);
      }
    }
    if (policy.length === 0) return only({ estimate: null, estimator: 'Monte Carlo k1 (no scored samples)', bound: null });
    const est = klMonteCarlo(policy, reference, 'k1');
    return only({
      estimate: est.estimate, stderr: est.stderr, bound: null,
      estimator: arm.kind === 'policy'
        ? `Monte Carlo k1: mean of log π_policy(y) − log π_ref(y) over ${est.n} samples of the policy (π_ref from score())`
        : `Monte Carlo k1: mean of log π_s(y) − log π_ref(y) from score() over ${est.n} steered samples`,
    });
  }
  const plugin: number[] = [];
  const ratios: number[] = [];
  const distributions = p.pools.map((pool, k) => selectionDistribution(pool, arm.method, arm.n, arm.beta, { resamples, seed: (o.seed ?? 0) + k, needGold: true }));
  p.pools.forEach((pool, k) => {
    const d = distributions[k];
    if (d) plugin.push(pluginKl(d));
    const chosen = p.picks[k]?.chosen;
    if (arm.kind === 'steer+mbr-bon' && chosen !== null && chosen !== undefined) {
      const r = steeringLogRatio(pool, chosen);
      if (r !== null) ratios.push(r);
    }
  });
  const sel = mean(plugin);
  const bound = klBound(arm.method, arm.n, arm.kind === 'steer+mbr-bon');
  if (arm.kind === 'steer+mbr-bon') {
    const steer = mean(ratios);
    return {
      report: {
        estimate: sel === null || steer === null ? null : sel + steer, bound: null,
        estimator: `plug-in selection KL on the steered pool (${resamples} resamples) + mean log π_s/π_ref of the picks`,
      },
      distributions,
    };
  }
  return {
    report: {
      estimate: sel, bound: bound?.value ?? null, ...(bound ? { boundFormula: bound.formula } : {}),
      estimator: `plug-in on the pool's M draws (${resamples} resamples of N with replacement; biased low as N → M)`,
    },
    distributions,
  };
}

export function evaluateArm(p: ArmPicks, baselineGold: readonly (number | null)[] | null, o: EvaluateOptions = {}): ArmResult {
  if (p.pools.length !== p.picks.length) throw new InvalidArgumentError(`arm ${p.arm.id}: ${p.pools.length} pools for ${p.picks.length} picks`);
  const seed = o.seed ?? 0;
  const res = o.bootstrap?.resamples;
  const gold = pickedGold(p);
  const proxy = p.picks.map((s, k) => (s.chosen === null ? null : (p.pools[k]?.candidates[s.chosen]?.proxy ?? null)));
  const chosen = p.picks.flatMap((s, k) => {
    const c = s.chosen === null ? undefined : p.pools[k]?.candidates[s.chosen];
    return c && isValid(c, true) ? [c] : [];
  });
  let win: WinRate | null = null;
  if (baselineGold && p.arm.kind !== 'baseline') {
    const t: number[] = []; const b: number[] = [];
    gold.forEach((g, k) => {
      const base = baselineGold[k];
      if (g !== null && base !== null && base !== undefined) { t.push(g); b.push(base); }
    });
    if (t.length > 0) win = winRate(t, b, { seed, tieTolerance: 1e-9, ...(res !== undefined ? { resamples: res } : {}) });
  }
  return {
    arm: p.arm,
    prompts: chosen.length,
    gold: intervalOf(gold, seed, res),
    proxy: intervalOf(proxy, seed, res),
    winRate: win,
    kl: armKl(p, o),
    perplexity: chosen.length > 0 && chosen.every((c) => c.refTokenLogprobs.length > 0) ? perplexity(chosen.map((c) => c.refTokenLogprobs)) : null,
    distinct1: distinctN(chosen.map((c) => c.text), 1),
    distinct2: distinctN(chosen.map((c) => c.text), 2),
    cost: armCost(p.arm, p.pools, p.picks, o.utilityCaptures ?? false),
  };
}

export { pickedGold };
