/** The study's tables as plain data (see src/ab/report/tables.ts for the renderers). */
import { num, type Table } from '../../ab/report/tables.js';
import type { Interval } from '../../selection/stats.js';
import { armLabel, fmtNumber, type StudyPoint } from '../curves.js';
import type { StudyResult } from '../run.js';

function signedCi(i: Interval | null): string {
  if (!i) return '—';
  const s = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(3)}`;
  return `${s(i.mean)} [${s(i.lo)}, ${s(i.hi)}]`;
}

function labelOf(r: StudyResult, spec: string): string {
  return r.config.proxies.find((p) => p.spec === spec)?.label ?? spec;
}

/** One row per proxy and policy: correlation, BoN's peak, gold at N_max of each arm, the calibrated β and the outcome. */
export function ladderTable(r: StudyResult): Table {
  const n = r.config.nMax;
  return {
    headers: ['proxy', 'pool', 'Pearson', 'Spearman', 'BoN gold N=1', 'BoN peak N (gold)', `BoN gold N=${n}`, `MBR-BoN gold N=${n} (− BoN)`, 'MBR-BoN c (β)', `KL-BoN gold N=${n} (− BoN)`, 'KL-BoN c (β)', `best c on test, N=${n}: MBR / KL (gold)`, 'outcome'],
    rows: r.verdicts.map((v) => {
      const reg = (s: string) => v.regularised.find((x) => x.selector === s);
      const m = reg('mbr-bon'); const k = reg('kl-bon');
      return [
        `${labelOf(r, v.proxy)}: \`${v.proxy}\``, v.policy === 'steered' ? 'steered' : 'reference',
        num(v.correlation?.pearson), num(v.correlation?.spearman), num(v.bon.goldAtN1), `${v.bon.peakN} (${num(v.bon.peakGold)})`, num(v.bon.goldAtNMax),
        m ? `${num(m.goldAtNMax)} (${signedCi(m.vsBonAtNMax)})` : '—', m ? `${fmtNumber(m.relative)} (${fmtNumber(m.beta)})` : '—',
        k ? `${num(k.goldAtNMax)} (${signedCi(k.vsBonAtNMax)})` : '—', k ? `${fmtNumber(k.relative)} (${fmtNumber(k.beta)})` : '—',
        [m, k].map((x) => (x ? `${fmtNumber(x.oracle.relative)} (${num(x.oracle.gold)})` : '—')).join(' / '),
        v.outcome,
      ];
    }),
  };
}

/** Gold of the calibrated arms per N for one proxy (mean [95% CI]), with KL (plug-in; BoN analytic after a slash). */
export function curveTable(r: StudyResult, proxy: string): Table {
  const pts = r.points.filter((p) => p.proxy === proxy && p.calibrated);
  const labels = [...new Set(pts.map((p) => armLabel(p)))];
  const cell = (p: StudyPoint | undefined) => {
    if (!p) return '—';
    const kl = p.kl ? ` · KL ${num(p.kl.plugin, 2)}${p.kl.analytic !== null ? `/${num(p.kl.analytic, 2)}` : ''}` : '';
    return `${num(p.gold.mean)} [${num(p.gold.lo)}, ${num(p.gold.hi)}]${kl}`;
  };
  return {
    headers: ['arm', ...r.config.ns.map((n) => `N=${n}`)],
    rows: labels.map((l) => [l, ...r.config.ns.map((n) => cell(pts.find((p) => armLabel(p) === l && p.n === n)))]),
  };
}

/** Gold at N_max on the test prompts for every c of the grid (dev gold of the calibration in brackets); the chosen c in bold. */
export function betaGridTable(r: StudyResult, proxy: string): Table {
  const rows: string[][] = [];
  const bold = new Set<string>();
  const n = r.config.nMax;
  for (const cal of r.calibrations.filter((c) => c.proxy === proxy)) {
    for (const s of cal.selectors) {
      const row = [cal.policy === 'steered' ? `steer + ${s.selector}` : s.selector, fmtNumber(s.scale)];
      s.relative.forEach((c, b) => {
        const test = r.points.find((p) => p.proxy === proxy && p.policy === cal.policy && p.selector === s.selector && p.relative === c && p.n === n);
        const dev = s.meanGold[b]?.[s.ns.length - 1];
        row.push(`${num(test?.gold.mean)} (${num(dev)})`);
        if (c === s.chosen.relative) bold.add(`${rows.length}:${row.length - 1}`);
      });
      rows.push(row);
    }
  }
  return { headers: ['selector', 'scale s', ...r.config.relativeGrid.map((c) => `c=${fmtNumber(c)}`)], rows, bold };
}

export function timingTable(r: StudyResult): Table {
  const t = r.timing;
  return {
    headers: ['wall s', 'drawing s', 'analysis s', 'CPU user s', 'CPU system s', 'load avg (1, 5, 15 min) at start', 'at end', 'generated tokens'],
    rows: [[num(t.wallMs / 1000, 1), num(t.drawMs / 1000, 1), num(t.analysisMs / 1000, 1), num(t.cpuUserMs / 1000, 1), num(t.cpuSystemMs / 1000, 1),
      t.loadAverageStart.map((x) => x.toFixed(2)).join(', '), t.loadAverageEnd.map((x) => x.toFixed(2)).join(', '), String(t.generatedTokens)]],
  };
}
