/**
 * The A/B report as a list of blocks (headings, paragraphs, lists, tables,
 * charts), rendered to markdown (report.md, charts as linked SVG files) and
 * to a standalone HTML page (report.html, charts inline).
 */
import type { ABResult } from '../harness.js';
import type { RenderedCharts } from './charts.js';
import {
  armsTable, calibrationTable, escapeHtml, invalidTable, overoptimizationTable, tableToHtml, tableToMarkdown, type Table,
} from './tables.js';

export type Block =
  | { kind: 'h'; level: 1 | 2 | 3; text: string }
  | { kind: 'p'; text: string }
  | { kind: 'list'; items: string[] }
  | { kind: 'table'; table: Table }
  | { kind: 'chart'; name: keyof RenderedCharts; file: string; title: string };

export const CHART_FILES: Record<keyof RenderedCharts, string> = {
  goldVsKl: 'charts/gold-vs-kl.svg',
  proxyVsGold: 'charts/proxy-vs-gold.svg',
  rewardVsN: 'charts/reward-vs-n.svg',
};

function fmtBeta(b: number): string {
  return Number(b.toPrecision(3)).toString();
}

export function reportBlocks(r: ABResult): Block[] {
  const c = r.config;
  const invalid = invalidTable(r);
  const blocks: Block[] = [
    { kind: 'h', level: 1, text: 'A/B report: steering vs Best-of-N vs MBR-BoN' },
    {
      kind: 'list', items: [
        `Model: ${c.model.architecture}, fingerprint ${c.model.fingerprint.slice(0, 16)}…`,
        `Prompts: ${c.prompts} test prompts; ${c.devPrompts} held-out dev prompts (β calibration only).`,
        `Sampling: temperature ${c.sampling.temperature}, top-p ${c.sampling.topP}, at most ${c.sampling.maxNewTokens} new tokens, seed ${c.sampling.seed}.`,
        `**Proxy reward (used for selection): \`${c.proxy}\`.** **Gold reward (used only to judge, and to calibrate β on the dev prompts): \`${c.gold}\`.**`,
        `Utility for MBR-BoN: \`${c.utility}\`. β = ${fmtBeta(r.beta.value)} (${r.beta.source === 'given' ? 'given' : `calibrated on the dev prompts against the gold reward at N = ${c.nMax}`}).`,
        c.vector ? `Steering vector: \`${c.vector}\`, strengths ${c.strengths.join(', ')}.` : 'No steering vector.',
      ],
    },
    { kind: 'h', level: 2, text: 'How the candidates are shared' },
    {
      kind: 'p',
      text: `Per prompt, N_max = ${c.nMax} candidates are drawn once from the reference model in one batched generate() call. BoN(N) and MBR-BoN(N) use the first N of them: nested subsets. Row k of a batch is seeded with rowSeed(seed, k) whatever the batch size, so these are exactly the candidates a run with n = N would draw. Each steered model also draws N_max candidates once per prompt: steering + MBR-BoN selects among the first ${c.comboN}, and all of them feed the steering KL estimate. The baseline and each steering arm are single draws of their own with seed ${c.sampling.seed + 1} (independent of the BoN candidates, and sharing one random stream so that a steering sample and the baseline differ only by the steering). Activations are captured once per pool, under the policy that drew it (steered pools with their steering), and the N_max × N_max utility matrix is computed once per pool; smaller N read its sub-matrix. Candidates whose proxy or gold reward is invalid (NaN, ±Infinity, not a number) are dropped before selection and listed below; they are never averaged in.`,
    },
    { kind: 'h', level: 2, text: 'Arms' },
    { kind: 'table', table: armsTable(r.arms) },
    {
      kind: 'list', items: [
        'gold and proxy: mean over prompts of the picked output\'s reward, 95% percentile-bootstrap CI over prompts. Win rate: paired per prompt against the baseline sample under the gold reward, ties count ½.',
        `KL to π_ref — steering: Monte Carlo k1, the mean of log π_s(y) − log π_ref(y) (summed log-probs from score()) over the ${c.nMax} steered draws per prompt, ± its standard error.`,
        `KL — BoN / MBR-BoN: plug-in estimate on the pool (π_ref replaced by the empirical distribution of the ${c.nMax} draws, the selector run on ${c.klResamples} subsets of N drawn with replacement); it sees ties but is biased low as N approaches ${c.nMax} (it cannot exceed log ${c.nMax} = ${Math.log(c.nMax).toFixed(3)}). Bound: log N − (N−1)/N for BoN (exact for continuous rewards, an upper bound with ties), log N for MBR-BoN (any choice among N draws).`,
        'KL — steering + MBR-BoN: the plug-in selection term on the steered pool plus the mean steering log-ratio log π_s/π_ref of the picks (the chain rule of KL).',
        'ppl: perplexity of the picked outputs under π_ref (every generated token, EOS included). distinct-n: unique word n-grams ÷ all n-grams over the picks.',
        'Cost: what the arm alone spends to produce its outputs — tokens of the candidates it draws, policy-model forward passes of that batch (prefill + longest row − 1, plus activation-capture passes for a hidden-state utility; a MiniLM encoder shows in wall time only), and wall time: measured for the single-draw arms; for selection arms an estimate, the pool\'s measured generation time × the arm\'s share of its tokens (a batch of N < N_max costs somewhat more per token), plus reward, capture and utility time × N/N_max. Scoring done only to evaluate (KL, perplexity) is not counted.',
      ],
    },
    { kind: 'chart', name: 'goldVsKl', file: CHART_FILES.goldVsKl, title: 'Gold reward vs KL' },
    { kind: 'chart', name: 'proxyVsGold', file: CHART_FILES.proxyVsGold, title: 'Proxy vs gold' },
  ];
  if (r.calibration) {
    blocks.push(
      { kind: 'h', level: 2, text: 'β calibration (dev prompts, gold reward)' },
      { kind: 'p', text: `Mean gold reward of the MBR-BoN pick on ${r.calibration.prompts} dev prompts for each β and N; the best per N is in bold (ties go to the smaller β). ${r.beta.source === 'calibrated' ? `The run uses the best β at N = ${c.nMax}: ${fmtBeta(r.beta.value)}.` : `The run uses the given β = ${fmtBeta(r.beta.value)}.`}` },
      { kind: 'table', table: calibrationTable(r.calibration) },
    );
  }
  blocks.push(
    { kind: 'h', level: 2, text: 'Overoptimization: gold reward as N grows' },
    { kind: 'p', text: `Selected with the proxy (\`${c.proxy}\`) on the first N reference candidates, judged by the gold reward (\`${c.gold}\`): BoN, and MBR-BoN at the run's β${r.calibration ? ' and at the best β per N of the calibration' : ''}.` },
    { kind: 'table', table: overoptimizationTable(r.overoptimization) },
    { kind: 'list', items: r.findings },
    { kind: 'chart', name: 'rewardVsN', file: CHART_FILES.rewardVsN, title: 'Reward vs N' },
    { kind: 'h', level: 2, text: 'Invalid rewards' },
  );
  if (invalid) blocks.push({ kind: 'table', table: invalid });
  else blocks.push({ kind: 'p', text: 'None: every candidate got a finite proxy and gold reward.' });
  blocks.push({ kind: 'p', text: `Run time: ${(r.timing.totalMs / 1000).toFixed(1)} s (drawing and annotating ${(r.timing.drawMs / 1000).toFixed(1)} s, selection and evaluation ${(r.timing.evaluateMs / 1000).toFixed(1)} s). Every candidate, reward, utility matrix and selection is in results.json.` });
  return blocks;
}

export function toMarkdown(blocks: readonly Block[]): string {
  const out: string[] = [];
  for (const b of blocks) {
    if (b.kind === 'h') out.push(`${'#'.repeat(b.level)} ${b.text}`);
    else if (b.kind === 'p') out.push(b.text);
    else if (b.kind === 'list') out.push(b.items.map((i) => `- ${i}`).join('\n'));
    else if (b.kind === 'table') out.push(tableToMarkdown(b.table));
    else out.push(`![${b.title}](${b.file})`);
  }
  return `${out.join('\n\n')}\n`;
}

/** Inline markdown used in the blocks (**bold**, `code`) to HTML. */
function inline(text: string): string {
  return escapeHtml(text).replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>').replace(/`([^`]+)`/g, '<code>$1</code>');
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}th,td{border:1px solid #ccc;padding:3px 6px;text-align:left}
th{background:#f3f3f3}code{background:#f3f3f3;padding:0 3px}figure{margin:1em 0}`;

export function toHtml(blocks: readonly Block[], charts: RenderedCharts): string {
  const body = blocks.map((b) => {
    if (b.kind === 'h') return `<h${b.level}>${inline(b.text)}</h${b.level}>`;
    if (b.kind === 'p') return `<p>${inline(b.text)}</p>`;
    if (b.kind === 'list') return `<ul>\n${b.items.map((i) => `<li>${inline(i)}</li>`).join('\n')}\n</ul>`;
    if (b.kind === 'table') return tableToHtml(b.table);
    return `<figure>${charts[b.name]}<figcaption>${escapeHtml(b.title)}</figcaption></figure>`;
  });
  return `<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>A/B report</title><style>${STYLE}</style></head>\n<body>\n${body.join('\n')}\n</body>\n</html>\n`;
}
