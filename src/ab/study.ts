/**
 * Two studies on reference pools, both pure:
 *
 * - β calibration (Jinnai et al. 2024): on held-out dev prompts, for each N,
 *   the MBR-BoN pick of every β in a grid is judged by the gold reward
 *   (calibrateBeta from src/selection); the β with the highest mean gold at the
 *   largest N is the one the run uses.
 * - Overoptimization: select with the proxy on the first N candidates, for N
 *   = 1, 2, 4, … up to N_max (plus the run's N list), with BoN and with
 *   MBR-BoN, and follow the gold reward of the picks as N grows.
 */
import { calibrateBeta, DEFAULT_BETA_GRID, type CalibrationPrompt } from '../selection/calibrate.js';
import { mean } from '../math/stats.js';
import { meanCI, type Interval } from '../selection/stats.js';
import { isValid, type Pool } from './pool.js';
import { selectFromPool, subMatrix, type PoolSelection } from './pool-selection.js';

export interface BetaCalibration {
  /** Dev prompts used. */
  prompts: number;
  ns: number[];
  betas: number[];
  /** meanGold[b][k]: mean gold of the MBR-BoN picks with betas[b] at ns[k]. */
  meanGold: number[][];
  meanProxy: number[][];
  /** Best β per N (highest mean gold; ties to the smaller β). */
  best: { n: number; beta: number; meanGold: number }[];
  /** The β the run uses: the best at the largest N. */
  chosen: number;
}

function calibrationPrompt(pool: Pool, n: number): CalibrationPrompt | null {
  const subset = pool.candidates.slice(0, n).filter((c) => isValid(c, true));
  if (subset.length === 0) return null;
  const idx = subset.map((c) => c.index);
  return {
    proxy: subset.map((c) => c.proxy as number),
    gold: subset.map((c) => c.gold as number),
    utility: subMatrix(pool.utility, pool.candidates.length, idx),
  };
}

export function calibrateOnPools(pools: readonly Pool[], ns: readonly number[], betas: readonly number[] = DEFAULT_BETA_GRID): BetaCalibration {
  const sortedNs = [...new Set(ns)].sort((a, b) => a - b);
  const results = sortedNs.map((n) => calibrateBeta(pools.flatMap((p) => calibrationPrompt(p, n) ?? []), { selector: 'mbr-bon', betas }));
  const grid = results[0]?.table.map((r) => r.beta) ?? [];
  const best = results.map((r, k) => ({ n: sortedNs[k] as number, beta: r.best.beta, meanGold: r.best.meanGold }));
  return {
    prompts: pools.length,
    ns: sortedNs,
    betas: grid,
    meanGold: grid.map((_, b) => results.map((r) => r.table[b]?.meanGold ?? NaN)),
    meanProxy: grid.map((_, b) => results.map((r) => r.table[b]?.meanProxy ?? NaN)),
    best,
    chosen: best[best.length - 1]?.beta ?? 0,
  };
}

export interface Curve {
  /** `BoN`, or `MBR-BoN β=<b>`. */
  label: string;
  method: 'bon' | 'mbr-bon';
  beta: number | null;
}

export interface CurvePoint extends Curve {
  n: number;
  gold: Interval;
  proxy: Interval;
}

export interface RewardCorrelation {
  /** Candidates with both rewards. */
  n: number;
  pearson: number;
  spearman: number;
}

export interface OveroptimizationStudy {
  /** The run's β (the MBR-BoN arms'). */
  beta: number;
  curves: Curve[];
  ns: number[];
  points: CurvePoint[];
  /** The picks behind every point, per curve and N, one per prompt. */
  selections: { label: string; method: 'bon' | 'mbr-bon'; beta: number | null; n: number; picks: PoolSelection[] }[];
  /** Proxy vs gold over every reference candidate. */
  correlation: RewardCorrelation | null;
}

/** 1, 2, 4, … up to nMax, with every N of the run. */
export function studyNs(ns: readonly number[]): number[] {
  const nMax = Math.max(...ns);
  const out = new Set<number>(ns);
  for (let n = 1; n <= nMax; n *= 2) out.add(n);
  out.add(nMax);
  return [...out].sort((a, b) => a - b);
}

function fmtBeta(b: number): string {
  return Number(b.toPrecision(3)).toString();
}

export function curvesFor(betas: readonly number[]): Curve[] {
  const unique = [...new Set(betas)].sort((a, b) => a - b);
  return [{ label: 'BoN', method: 'bon', beta: null }, ...unique.map((b): Curve => ({ label: `MBR-BoN β=${fmtBeta(b)}`, method: 'mbr-bon', beta: b }))];
}

function pearson(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0; let sxx = 0; let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (x[i] as number) - mx; const dy = (y[i] as number) - my;
    sxy += dx * dy; sxx += dx * dx; syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

/** Ranks with ties averaged (1-based). */
function ranks(v: readonly number[]): number[] {
  const order = v.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(v.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && (order[j + 1] as readonly [number, number])[0] === (order[i] as readonly [number, number])[0]) j++;
    for (let k = i; k <= j; k++) out[(order[k] as readonly [number, number])[1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return out;
}

export function rewardCorrelation(pools: readonly Pool[]): RewardCorrelation | null {
  const x: number[] = []; const y: number[] = [];
  for (const p of pools) for (const c of p.candidates) if (c.proxy !== null && c.gold !== null) { x.push(c.proxy); y.push(c.gold); }
  if (x.length < 3) return null;
  return { n: x.length, pearson: pearson(x, y), spearman: pearson(ranks(x), ranks(y)) };
}

/**
 * Gold and proxy of the picks as N grows, for BoN and for MBR-BoN at each β
 * in `betas` (the run's β first; callers add the calibration's best β per N
 * so a β of 0 still leaves an MBR-BoN curve to compare).
 */
export function overoptimization(pools: readonly Pool[], ns: readonly number[], beta: number, extraBetas: readonly number[] = [], seed = 0): OveroptimizationStudy {
  const grid = studyNs(ns);
  const curves = curvesFor([beta, ...extraBetas]);
  const points: CurvePoint[] = [];
  const selections: OveroptimizationStudy['selections'] = [];
  for (const curve of curves) {
    for (const n of grid) {
      const picks = pools.map((p) => selectFromPool(p, { method: curve.method, n, needGold: true, ...(curve.beta !== null ? { beta: curve.beta } : {}) }));
      selections.push({ ...curve, n, picks });
      const gold: number[] = []; const proxy: number[] = [];
      picks.forEach((s, k) => {
        const c = s.chosen === null ? undefined : pools[k]?.candidates[s.chosen];
        if (c && c.gold !== null && c.proxy !== null) { gold.push(c.gold); proxy.push(c.proxy); }
      });
      if (gold.length > 0) points.push({ ...curve, n, gold: meanCI(gold, { seed }), proxy: meanCI(proxy, { seed }) });
    }
  }
  return { beta, curves, ns: grid, points, selections, correlation: rewardCorrelation(pools) };
}

/** A plain-language account of the curves: where gold peaks and how it moves with the proxy. */
export function describeOveroptimization(study: OveroptimizationStudy): string[] {
  const lines: string[] = [];
  for (const curve of study.curves) {
    const pts = study.points.filter((p) => p.label === curve.label);
    const first = pts[0];
    const last = pts[pts.length - 1];
    if (!first || !last) continue;
    const peak = pts.reduce((a, b) => (b.gold.mean > a.gold.mean ? b : a));
    const atEnd = last.gold.mean >= peak.gold.mean - 1e-12;
    const trend = atEnd ? 'is highest at the largest N' : `peaks at N = ${peak.n} (${peak.gold.mean.toFixed(3)}) and ends at ${last.gold.mean.toFixed(3)}`;
    const overlap = !atEnd && last.gold.hi >= peak.gold.lo ? `; the 95% CIs at N = ${peak.n} and N = ${last.n} overlap` : '';
    lines.push(`${curve.label}: proxy ${first.proxy.mean.toFixed(3)} → ${last.proxy.mean.toFixed(3)} and gold ${first.gold.mean.toFixed(3)} → ${last.gold.mean.toFixed(3)} from N = ${first.n} to N = ${last.n}; gold ${trend}${overlap}.`);
  }
  const nMax = study.ns[study.ns.length - 1];
  const bon = study.points.find((p) => p.method === 'bon' && p.n === nMax);
  for (const p of study.points) {
    if (!bon || p.method !== 'mbr-bon' || p.n !== nMax) continue;
    const dg = p.gold.mean - bon.gold.mean;
    const dp = p.proxy.mean - bon.proxy.mean;
    lines.push(`At N = ${nMax}, ${p.label} − BoN: gold ${dg >= 0 ? '+' : ''}${dg.toFixed(3)}, proxy ${dp >= 0 ? '+' : ''}${dp.toFixed(3)}.`);
  }
  const c = study.correlation;
  if (c) lines.push(`Proxy and gold over all ${c.n} reference candidates: Pearson r = ${c.pearson.toFixed(3)}, Spearman ρ = ${c.spearman.toFixed(3)}.`);
  return lines;
}
