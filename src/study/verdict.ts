/**
 * The study's verdict per proxy and policy, computed from the points: where
 * BoN's gold curve peaks and whether it falls after (the paired difference
 * gold(N_max) − gold(peak) over prompts, with a bootstrap CI; the peak is
 * picked on the same prompts, so a fall is only called when its CI is below
 * 0), and for MBR-BoN and KL-BoN at the calibrated β the paired difference
 * to BoN at each N: where it is above BoN (CI above 0), below (CI below 0),
 * or neither. The best β of the grid on the test prompts (an oracle, not a
 * usable choice) says what regularisation could buy at most.
 */
import type { Interval } from '../selection/stats.js';
import type { RewardCorrelation } from '../ab/study.js';
import { REGULARISED, type Regularised } from './calibrate.js';
import { armLabel, fmtNumber, pairedDifference, type Policy, type StudyPoint } from './curves.js';

export interface RegularisedVerdict {
  selector: Regularised;
  relative: number;
  beta: number;
  peakN: number;
  goldAtNMax: number;
  /** Paired gold − BoN's gold at N_max. */
  vsBonAtNMax: Interval | null;
  /** N where the paired difference to BoN has its CI above 0, or below 0. */
  above: number[];
  below: number[];
  /** The best c of the grid at N_max on the test prompts (oracle). */
  oracle: { relative: number; beta: number; gold: number };
}

export type Outcome = 'reproduces' | 'overoptimizes, regularisation does not help' | 'no overoptimization, regularisation helps anyway' | 'no overoptimization';

export interface ProxyVerdict {
  proxy: string;
  policy: Policy;
  correlation: RewardCorrelation | null;
  nMax: number;
  bon: { goldAtN1: number; peakN: number; peakGold: number; goldAtNMax: number; fall: Interval | null; falls: boolean };
  regularised: RegularisedVerdict[];
  outcome: Outcome;
  text: string;
}

function curve(points: readonly StudyPoint[], f: (p: StudyPoint) => boolean): StudyPoint[] {
  return points.filter(f).sort((a, b) => a.n - b.n);
}

function peak(c: readonly StudyPoint[]): StudyPoint {
  return c.reduce((a, b) => (b.gold.mean > a.gold.mean ? b : a));
}

function signed(v: number): string {
  return `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(3)}`;
}

function ci(i: Interval): string {
  return `${signed(i.mean)} [${signed(i.lo)}, ${signed(i.hi)}]`;
}

function nList(ns: readonly number[]): string {
  return ns.length === 0 ? 'no N' : `N = ${ns.join(', ')}`;
}

export function proxyVerdict(points: readonly StudyPoint[], proxy: string, policy: Policy, correlation: RewardCorrelation | null, seed = 0): ProxyVerdict | null {
  const mine = points.filter((p) => p.proxy === proxy && p.policy === policy);
  const bon = curve(mine, (p) => p.selector === 'bon');
  const first = bon[0];
  const last = bon[bon.length - 1];
  if (!first || !last) return null;
  const top = peak(bon);
  const fall = top.n === last.n ? null : pairedDifference(last.goldPerPrompt, top.goldPerPrompt, seed);
  const falls = fall !== null && fall.hi < 0;
  const regularised: RegularisedVerdict[] = [];
  for (const selector of REGULARISED) {
    const cal = curve(mine, (p) => p.selector === selector && p.calibrated);
    const end = cal[cal.length - 1];
    if (!end) continue;
    const above: number[] = []; const below: number[] = [];
    for (const p of cal) {
      const b = bon.find((q) => q.n === p.n);
      const d = b ? pairedDifference(p.goldPerPrompt, b.goldPerPrompt, seed) : null;
      if (d && d.lo > 0) above.push(p.n);
      if (d && d.hi < 0) below.push(p.n);
    }
    const atMax = mine.filter((p) => p.selector === selector && p.n === last.n);
    const best = atMax.reduce((a, b) => (b.gold.mean > a.gold.mean ? b : a), atMax[0] as StudyPoint);
    regularised.push({
      selector, relative: end.relative ?? 0, beta: end.beta ?? 0, peakN: peak(cal).n, goldAtNMax: end.gold.mean,
      vsBonAtNMax: pairedDifference(end.goldPerPrompt, last.goldPerPrompt, seed), above, below,
      oracle: { relative: best.relative ?? 0, beta: best.beta ?? 0, gold: best.gold.mean },
    });
  }
  const helps = regularised.some((r) => r.vsBonAtNMax !== null && r.vsBonAtNMax.lo > 0);
  const outcome: Outcome = falls ? (helps ? 'reproduces' : 'overoptimizes, regularisation does not help') : helps ? 'no overoptimization, regularisation helps anyway' : 'no overoptimization';
  const who = policy === 'steered' ? `${proxy}, steered pool` : proxy;
  const corr = correlation ? ` (Pearson ${correlation.pearson.toFixed(2)}, Spearman ${correlation.spearman.toFixed(2)} with gold over ${correlation.n} candidates)` : '';
  const bonText = top.n === last.n
    ? `BoN's gold rises from ${first.gold.mean.toFixed(3)} at N = 1 to ${last.gold.mean.toFixed(3)} at N = ${last.n}, its highest`
    : `BoN's gold goes from ${first.gold.mean.toFixed(3)} at N = 1 to a peak of ${top.gold.mean.toFixed(3)} at N = ${top.n} and ends at ${last.gold.mean.toFixed(3)} at N = ${last.n} (paired change ${fall ? ci(fall) : '—'}: ${falls ? 'a fall beyond noise' : 'within noise'})`;
  const regText = regularised.map((r) => {
    const arm = armLabel({ policy, selector: r.selector, relative: r.relative });
    const d = r.vsBonAtNMax ? ci(r.vsBonAtNMax) : '—';
    const where = r.above.length === 0 && r.below.length === 0 ? 'never different from BoN beyond noise' : `above BoN at ${nList(r.above)}, below at ${nList(r.below)}`;
    const calibrated = r.relative === 0 ? 'calibrated to β = 0, so it is BoN' : `calibrated β = ${fmtNumber(r.beta)}`;
    return `${arm} (${calibrated}): ${r.goldAtNMax.toFixed(3)} at N = ${last.n}, ${d} against BoN; ${where}; its best c on the test prompts would be ${fmtNumber(r.oracle.relative)} (${r.oracle.gold.toFixed(3)})`;
  });
  const text = `${who}${corr}: ${bonText}. ${regText.join('. ')}. Verdict: ${outcome}.`;
  return {
    proxy, policy, correlation, nMax: last.n,
    bon: { goldAtN1: first.gold.mean, peakN: top.n, peakGold: top.gold.mean, goldAtNMax: last.gold.mean, fall, falls },
    regularised, outcome, text,
  };
}
