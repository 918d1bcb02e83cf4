/**
 * The study's report: results.json (config, correlations, calibrations, every
 * point with its per-prompt picks, verdicts, timing, and every pool's
 * candidates with all rewards and log-probs and the utility matrix),
 * report.md and report.html (charts inline), and the charts as SVG files.
 * All files are written atomically together (temp files, then renames).
 */
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { atomicWriteFiles } from '../../files/fs.js';
import { renderSvg } from '../../ab/report/charts.js';
import { escapeHtml, tableToHtml, tableToMarkdown, type Table } from '../../ab/report/tables.js';
import type { LadderPool } from '../pools.js';
import type { StudyResult } from '../run.js';
import { goldVsBetaSpec, goldVsKlSpec, goldVsNSpec } from './charts.js';
import { betaGridTable, curveTable, ladderTable, timingTable } from './tables.js';

export const STUDY_FORMAT = 'onnx-steer.overoptimization-study';

type Block =
  | { kind: 'h'; level: 1 | 2 | 3; text: string }
  | { kind: 'p'; text: string }
  | { kind: 'list'; items: string[] }
  | { kind: 'table'; table: Table }
  | { kind: 'chart'; file: string; title: string; svg: string };

const CHARTS: [string, string, (r: StudyResult) => TopLevelSpec][] = [
  ['charts/gold-vs-n.svg', 'Gold reward vs N', goldVsNSpec],
  ['charts/gold-vs-kl.svg', 'Gold reward vs KL', goldVsKlSpec],
  ['charts/gold-vs-beta.svg', 'Gold reward at N_max vs β', goldVsBetaSpec],
];

function blocks(r: StudyResult, charts: readonly { file: string; title: string; svg: string }[]): Block[] {
  const c = r.config;
  const out: Block[] = [
    { kind: 'h', level: 1, text: 'Overoptimization study: Best-of-N, MBR-BoN and KL-BoN over a ladder of proxies' },
    {
      kind: 'list', items: [
        `Model: ${c.model.architecture}, fingerprint ${c.model.fingerprint.slice(0, 16)}…`,
        `Prompts: ${c.prompts} test prompts; ${c.devPrompts} separate dev prompts (β calibration only).`,
        `Sampling: temperature ${c.sampling.temperature}, top-p ${c.sampling.topP}, at most ${c.sampling.maxNewTokens} new tokens, seed ${c.sampling.seed}. N_max = ${c.nMax}: N ∈ {${c.ns.join(', ')}} on the first N candidates of one pool per prompt.`,
        `**Gold judge: \`${c.gold}\`** (never used to select). Proxies: ${c.proxies.map((p) => `${p.label} \`${p.spec}\``).join(', ')}.`,
        `MBR utility: \`${c.utility}\`. ${c.steering ? `Steered pool: \`${c.steering.name}\` at strength ${c.steering.strength}, N_max candidates per prompt drawn once as well.` : 'No steering.'}`,
        `β = c·s, c ∈ {${c.relativeGrid.join(', ')}}, s = mean within-pool sd(proxy) / sd(regulariser) on the dev pools (ū for MBR-BoN, log π_ref for KL-BoN); c calibrated per proxy and pool on the dev prompts against gold at N = ${c.nMax} (ties to the smaller c).`,
      ],
    },
    { kind: 'h', level: 2, text: 'The ladder' },
    { kind: 'table', table: ladderTable(r) },
    { kind: 'p', text: 'Correlations: proxy vs gold over every candidate of the pool. Gold: mean over prompts of the pick\'s gold reward. In brackets, the paired difference to BoN at N_max with its 95% bootstrap CI over prompts. Outcome "reproduces": BoN\'s gold falls from its peak beyond noise (paired CI of gold(N_max) − gold(peak) below 0) and a regulariser at the calibrated β beats BoN at N_max beyond noise.' },
    { kind: 'h', level: 2, text: 'Verdicts' },
    { kind: 'list', items: r.verdicts.map((v) => v.text) },
  ];
  for (const ch of charts) out.push({ kind: 'chart', ...ch });
  for (const p of c.proxies) {
    out.push(
      { kind: 'h', level: 2, text: `${p.label}: \`${p.spec}\`` },
      { kind: 'p', text: 'Gold of the calibrated arms per N, mean [95% CI]; KL = plug-in estimate (for BoN on the reference pool, / the analytic log N − (N−1)/N). Steered arms add the mean log π_s/π_ref of the picks.' },
      { kind: 'table', table: curveTable(r, p.spec) },
      { kind: 'p', text: `Gold at N = ${c.nMax} on the test prompts for every c (dev gold in brackets); the calibrated c in bold.` },
      { kind: 'table', table: betaGridTable(r, p.spec) },
    );
  }
  out.push({ kind: 'h', level: 2, text: 'Cost' }, { kind: 'table', table: timingTable(r) });
  return out;
}

function inline(text: string): string {
  return escapeHtml(text).replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>').replace(/`([^`]+)`/g, '<code>$1</code>');
}

function toMarkdown(bs: readonly Block[]): string {
  return `${bs.map((b) => {
    if (b.kind === 'h') return `${'#'.repeat(b.level)} ${b.text}`;
    if (b.kind === 'p') return b.text;
    if (b.kind === 'list') return b.items.map((i) => `- ${i}`).join('\n');
    if (b.kind === 'table') return tableToMarkdown(b.table);
    return `![${b.title}](${b.file})`;
  }).join('\n\n')}\n`;
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:1400px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}th,td{border:1px solid #ccc;padding:3px 6px;text-align:left}
th{background:#f3f3f3}code{background:#f3f3f3;padding:0 3px}figure{margin:1em 0}`;

function toHtml(bs: readonly Block[]): string {
  const body = bs.map((b) => {
    if (b.kind === 'h') return `<h${b.level}>${inline(b.text)}</h${b.level}>`;
    if (b.kind === 'p') return `<p>${inline(b.text)}</p>`;
    if (b.kind === 'list') return `<ul>\n${b.items.map((i) => `<li>${inline(i)}</li>`).join('\n')}\n</ul>`;
    if (b.kind === 'table') return tableToHtml(b.table);
    return `<figure>${b.svg}<figcaption>${escapeHtml(b.title)}</figcaption></figure>`;
  });
  return `<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Overoptimization study</title><style>${STYLE}</style></head>\n<body>\n${body.join('\n')}\n</body>\n</html>\n`;
}

function poolJson(lp: LadderPool) {
  const p = lp.pool;
  const m = p.candidates.length;
  return {
    key: p.key, promptIndex: p.promptIndex,
    candidates: p.candidates.map((c, i) => ({
      index: c.index, seed: c.seed, text: c.text, ids: c.ids, finishReason: c.finishReason, logprob: c.logprob, refLogprob: c.refLogprob,
      ...(c.steeredLogprob !== undefined ? { steeredLogprob: c.steeredLogprob } : {}),
      rewards: Object.fromEntries(Object.entries(lp.rewards).map(([k, v]) => [k, v[i] ?? null])),
    })),
    utility: p.utility.length === m * m ? Array.from({ length: m }, (_, i) => Array.from(p.utility.subarray(i * m, (i + 1) * m))) : null,
    invalid: lp.invalid,
    timing: p.timing,
  };
}

export function studyDocument(r: StudyResult) {
  return {
    format: STUDY_FORMAT, version: 1,
    config: r.config, prompts: r.prompts, devPrompts: r.devPrompts,
    correlations: r.correlations, calibrations: r.calibrations, points: r.points, verdicts: r.verdicts, timing: r.timing,
    pools: {
      reference: r.pools.reference.map(poolJson), steered: r.pools.steered?.map(poolJson) ?? null,
      devReference: r.pools.devReference.map(poolJson), devSteered: r.pools.devSteered?.map(poolJson) ?? null,
    },
  };
}

export async function writeStudyReport(dir: string, r: StudyResult): Promise<string[]> {
  const charts: { file: string; title: string; svg: string }[] = [];
  for (const [file, title, spec] of CHARTS) charts.push({ file, title, svg: await renderSvg(spec(r)) });
  const bs = blocks(r, charts);
  const json = `${JSON.stringify(studyDocument(r), (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))}\n`;
  const files: [string, string][] = [
    ['results.json', json], ['report.md', toMarkdown(bs)], ['report.html', toHtml(bs)],
    ...charts.map((ch): [string, string] => [ch.file, ch.svg]),
  ];
  atomicWriteFiles(files.map(([name, text]) => [join(dir, name), text] as const));
  return files.map(([name]) => join(dir, name));
}

/** The ladder table and the verdicts as markdown (what the command prints). */
export function studySummary(r: StudyResult): string {
  return `${tableToMarkdown(ladderTable(r))}\n\n${r.verdicts.map((v) => `- ${v.text}`).join('\n')}\n\n${tableToMarkdown(timingTable(r))}\n`;
}
