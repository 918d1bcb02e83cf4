/**
 * The study's curves: for one proxy, every arm (BoN, and MBR-BoN and KL-BoN
 * at every β of the relative grid; on the reference pool and, when there is
 * one, on the steered pool) at every N of 1, 2, 4, …, N_max, selected on the
 * first N candidates of the one shared pool per prompt (paired across N, arms
 * and proxies). Per point: the mean gold and proxy reward of the picks with a
 * percentile-bootstrap CI over prompts, the picks themselves, and, for BoN
 * and the calibrated β, KL to π_ref (see src/ab/kl.ts):
 *
 *   reference pool   plug-in KL(π_sel ‖ π̂_ref) on the pool; BoN also the
 *                    analytic log N − (N−1)/N
 *   steered pool     plug-in KL(π_sel ‖ π̂_s) on the steered pool plus the mean
 *                    log π_s/π_ref of the picks (the chain rule of KL)
 */
import { meanCI, type Interval } from '../selection/stats.js';
import { selectionKlPlugin, steeringLogRatio } from '../ab/kl.js';
import type { Pool } from '../ab/pool.js';
import { selectFromPool } from '../ab/pool-selection.js';
import type { Regularised, SelectorCalibration } from './calibrate.js';

export type Policy = 'reference' | 'steered';

export interface StudyArm {
  policy: Policy;
  selector: 'bon' | Regularised;
  /** c of the relative grid (β = c·scale); null for BoN. */
  relative: number | null;
  beta: number | null;
  /** Whether β is the one calibrated on the dev prompts (always true for BoN). */
  calibrated: boolean;
}

export interface StudyKl {
  plugin: number | null;
  /** log N − (N−1)/N, BoN on the reference pool only. */
  analytic: number | null;
}

export interface StudyPoint extends StudyArm {
  proxy: string;
  n: number;
  gold: Interval;
  proxyReward: Interval;
  /** Per prompt: the chosen candidate (pool index) and its gold reward. */
  chosen: (number | null)[];
  goldPerPrompt: (number | null)[];
  kl: StudyKl | null;
}

export interface CurveOptions {
  /** Subsets per pool for the plug-in KL (default 300). */
  klResamples?: number;
  bootstrapResamples?: number;
  seed?: number;
}

const NAMES: Record<StudyArm['selector'], string> = { bon: 'BoN', 'mbr-bon': 'MBR-BoN', 'kl-bon': 'KL-BoN' };

export function fmtNumber(v: number): string {
  return Number(v.toPrecision(3)).toString();
}

export function armLabel(a: Pick<StudyArm, 'policy' | 'selector' | 'relative'>): string {
  const base = a.selector === 'bon' ? 'BoN' : `${NAMES[a.selector]} c=${fmtNumber(a.relative ?? 0)}`;
  return a.policy === 'steered' ? `steer + ${base}` : base;
}

/** 1, 2, 4, … and nMax. */
export function powersOfTwo(nMax: number): number[] {
  const out: number[] = [];
  for (let n = 1; n < nMax; n *= 2) out.push(n);
  out.push(nMax);
  return out;
}

function interval(values: (number | null)[], seed: number, resamples?: number): Interval | null {
  const v = values.filter((x): x is number => x !== null);
  return v.length === 0 ? null : meanCI(v, { seed, ...(resamples !== undefined ? { resamples } : {}) });
}

/** Paired difference a − b over prompts where both are present, with a bootstrap CI. */
export function pairedDifference(a: readonly (number | null)[], b: readonly (number | null)[], seed = 0, resamples?: number): Interval | null {
  const d: number[] = [];
  a.forEach((x, k) => { const y = b[k]; if (x !== null && y !== null && y !== undefined) d.push(x - y); });
  return d.length === 0 ? null : meanCI(d, { seed, ...(resamples !== undefined ? { resamples } : {}) });
}

function armsOf(policy: Policy, calibrations: readonly SelectorCalibration[]): StudyArm[] {
  const arms: StudyArm[] = [{ policy, selector: 'bon', relative: null, beta: null, calibrated: true }];
  for (const cal of calibrations) {
    cal.relative.forEach((c, b) => arms.push({ policy, selector: cal.selector, relative: c, beta: cal.betas[b] as number, calibrated: c === cal.chosen.relative }));
  }
  return arms;
}

function klOf(arm: StudyArm, pools: readonly Pool[], n: number, chosen: readonly (number | null)[], o: CurveOptions): StudyKl {
  const resamples = o.klResamples ?? 300;
  const plugin: number[] = [];
  const ratios: number[] = [];
  pools.forEach((pool, k) => {
    const v = selectionKlPlugin(pool, arm.selector, n, arm.beta, { resamples, seed: (o.seed ?? 0) + k, needGold: true });
    if (v !== null) plugin.push(v);
    const c = chosen[k];
    if (arm.policy === 'steered' && c !== null && c !== undefined) {
      const r = steeringLogRatio(pool, c);
      if (r !== null) ratios.push(r);
    }
  });
  const mean = (v: number[]) => (v.length === 0 ? null : v.reduce((a, b) => a + b, 0) / v.length);
  const sel = mean(plugin);
  if (arm.policy === 'steered') {
    const s = mean(ratios);
    return { plugin: sel === null || s === null ? null : sel + s, analytic: null };
  }
  return { plugin: sel, analytic: arm.selector === 'bon' ? Math.log(n) - (n - 1) / n : null };
}

/** Every point of one proxy: `pools.reference[k]` (and `pools.steered[k]`) are prompt k's pools seen with that proxy. */
export function proxyCurves(
  proxy: string,
  pools: { reference: readonly Pool[]; steered?: readonly Pool[] },
  ns: readonly number[],
  calibrations: { reference: readonly SelectorCalibration[]; steered?: readonly SelectorCalibration[] },
  o: CurveOptions = {},
): StudyPoint[] {
  const seed = o.seed ?? 0;
  const points: StudyPoint[] = [];
  const policies: [Policy, readonly Pool[]][] = [['reference', pools.reference]];
  if (pools.steered) policies.push(['steered', pools.steered]);
  for (const [policy, ps] of policies) {
    for (const arm of armsOf(policy, (policy === 'steered' ? calibrations.steered : undefined) ?? calibrations.reference)) {
      for (const n of ns) {
        const picks = ps.map((p) => selectFromPool(p, { method: arm.selector, n, needGold: true, ...(arm.beta !== null ? { beta: arm.beta } : {}) }));
        const chosen = picks.map((s) => s.chosen);
        const cand = chosen.map((c, k) => (c === null ? undefined : ps[k]?.candidates[c]));
        const goldPerPrompt = cand.map((c) => c?.gold ?? null);
        const gold = interval(goldPerPrompt, seed, o.bootstrapResamples);
        const proxyReward = interval(cand.map((c) => c?.proxy ?? null), seed, o.bootstrapResamples);
        if (!gold || !proxyReward) continue;
        points.push({ ...arm, proxy, n, gold, proxyReward, chosen, goldPerPrompt, kl: arm.calibrated ? klOf(arm, ps, n, chosen, o) : null });
      }
    }
  }
  return points;
}
