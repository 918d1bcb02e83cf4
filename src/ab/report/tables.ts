/**
 * The report's tables as plain data (headers + string cells), rendered to
 * markdown or HTML by the writers. One function per table, pure.
 */
import type { Interval } from '../../selection/stats.js';
import type { ArmResult } from '../metrics.js';
import type { ABResult } from '../harness.js';
import type { BetaCalibration, OveroptimizationStudy } from '../study.js';

export interface Table {
  headers: string[];
  rows: string[][];
  /** Cells to emphasise, as `row:col`. */
  bold?: Set<string>;
}

export function num(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return v.toFixed(digits);
}

export function interval(i: Interval | null, digits = 3): string {
  return i ? `${num(i.mean, digits)} [${num(i.lo, digits)}, ${num(i.hi, digits)}]` : '—';
}

function klCell(a: ArmResult): string {
  if (a.kl.estimate === null) return '—';
  return a.kl.stderr !== undefined && Number.isFinite(a.kl.stderr) ? `${num(a.kl.estimate)} ± ${num(a.kl.stderr)}` : num(a.kl.estimate);
}

/** With several references: a KL column per reference and one against the combined l̃ (src/ab/references.ts). */
function referenceKlColumns(arms: readonly ArmResult[]): { headers: string[]; cells: (a: ArmResult) => string[] } {
  const first = arms.find((a) => a.kl.references)?.kl.references;
  if (!first) return { headers: [], cells: () => [] };
  const headers = [...first.references.map((r) => `KL vs ${r.reference}`), ...(first.combined !== null ? ['KL vs l̃ (MRPO)'] : [])];
  return {
    headers,
    cells: (a) => {
      const r = a.kl.references;
      return [...first.references.map((_, k) => num(r?.references[k]?.estimate)), ...(first.combined !== null ? [num(r?.combined)] : [])];
    },
  };
}

export function armsTable(arms: readonly ArmResult[]): Table {
  const refs = referenceKlColumns(arms);
  return {
    headers: ['arm', 'gold (95% CI)', 'proxy (95% CI)', 'win rate vs baseline, gold (95% CI)', 'KL est. (nats)', ...refs.headers, 'KL bound', 'ppl (π_ref)', 'distinct-1', 'distinct-2', 'tokens', 'forward passes', 'wall ms'],
    rows: arms.map((a) => [
      a.arm.id,
      interval(a.gold),
      interval(a.proxy),
      a.winRate ? `${num(a.winRate.mean, 2)} [${num(a.winRate.lo, 2)}, ${num(a.winRate.hi, 2)}]` : '—',
      klCell(a),
      ...refs.cells(a),
      a.kl.bound === null ? '—' : `${num(a.kl.bound)}${a.kl.boundFormula ? ` (${a.kl.boundFormula})` : ''}`,
      num(a.perplexity, 2),
      num(a.distinct1, 3),
      num(a.distinct2, 3),
      String(a.cost.generatedTokens),
      String(a.cost.forwardPasses),
      num(a.cost.wallMs, 0),
    ]),
  };
}

/** The compact subset of columns for a README: gold, proxy, win rate, KL, perplexity, tokens. */
export function compactArmsTable(arms: readonly ArmResult[]): Table {
  const refs = referenceKlColumns(arms);
  return {
    headers: ['arm', 'gold (95% CI)', 'proxy (95% CI)', 'win rate vs baseline', 'KL (nats)', ...refs.headers, 'ppl', 'tokens'],
    rows: arms.map((a) => [
      a.arm.id, interval(a.gold), interval(a.proxy),
      a.winRate ? num(a.winRate.mean, 2) : '—', klCell(a), ...refs.cells(a), num(a.perplexity, 2), String(a.cost.generatedTokens),
    ]),
  };
}

export function calibrationTable(c: BetaCalibration): Table {
  const bold = new Set<string>();
  c.best.forEach((b, k) => {
    const row = c.betas.indexOf(b.beta);
    if (row >= 0) bold.add(`${row}:${k + 1}`);
  });
  return {
    headers: ['β', ...c.ns.map((n) => `mean gold, N = ${n}`)],
    rows: c.betas.map((beta, b) => [String(beta), ...c.ns.map((_, k) => num(c.meanGold[b]?.[k]))]),
    bold,
  };
}

export function overoptimizationTable(s: OveroptimizationStudy): Table {
  return {
    headers: ['N', ...s.curves.flatMap((c) => [`${c.label} proxy`, `${c.label} gold (95% CI)`])],
    rows: s.ns.map((n) => [String(n), ...s.curves.flatMap((c) => {
      const p = s.points.find((q) => q.label === c.label && q.n === n);
      return [num(p?.proxy.mean), interval(p?.gold ?? null)];
    })]),
  };
}

export function invalidTable(result: ABResult): Table | null {
  const rows = [...result.pools.flat(), ...result.devPools].flatMap((p) => p.invalid.map((inv) => [
    String(p.promptIndex), p.key, String(inv.candidate), inv.role, inv.reward, inv.value,
  ]));
  return rows.length === 0 ? null : { headers: ['prompt', 'pool', 'candidate', 'role', 'reward', 'value'], rows };
}

function escapeMd(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function tableToMarkdown(t: Table): string {
  const cell = (s: string, r: number, c: number) => (t.bold?.has(`${r}:${c}`) ? `**${escapeMd(s)}**` : escapeMd(s));
  return [
    `| ${t.headers.map(escapeMd).join(' | ')} |`,
    `|${t.headers.map(() => '---').join('|')}|`,
    ...t.rows.map((row, r) => `| ${row.map((s, c) => cell(s, r, c)).join(' | ')} |`),
  ].join('\n');
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function tableToHtml(t: Table): string {
  const cell = (s: string, r: number, c: number) => (t.bold?.has(`${r}:${c}`) ? `<td><strong>${escapeHtml(s)}</strong></td>` : `<td>${escapeHtml(s)}</td>`);
  return [
    '<table>',
    `<thead><tr>${t.headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...t.rows.map((row, r) => `<tr>${row.map((s, c) => cell(s, r, c)).join('')}</tr>`),
    '</tbody>',
    '</table>',
  ].join('\n');
}
