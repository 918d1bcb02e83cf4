/**
 * Writes an A/B run to a directory, every file atomically (temp file, then
 * rename): results.json, report.md, report.html and the charts as SVG.
 *
 * results.json holds every candidate of every pool with its rewards and
 * log-probs, each pool's utility matrix (rows of u(y_i, y_j)), and every
 * selection (the subset the selector saw, its objective per member and the
 * chosen index), so any pick can be recomputed by hand, e.g. for MBR-BoN:
 * argmax over i in subset of proxy[i] + β·mean_{j in subset} utility[i][j].
 */
import { join } from 'node:path';
import { writeFilesInterruptibly } from '../../files/fs.js';
import type { ABResult } from '../harness.js';
import type { Pool } from '../pool.js';
import { renderCharts, type RenderedCharts } from './charts.js';
import { CHART_FILES, reportBlocks, toHtml, toMarkdown } from './document.js';

export const RESULTS_FORMAT = 'onnx-steer.ab-results';

function poolJson(p: Pool): unknown {
  const m = p.candidates.length;
  const utility: number[][] = [];
  if (p.utility.length === m * m) for (let i = 0; i < m; i++) utility.push(Array.from(p.utility.subarray(i * m, (i + 1) * m)));
  return {
    key: p.key,
    strength: p.strength,
    candidates: p.candidates.map((c) => ({
      index: c.index, seed: c.seed, text: c.text, ids: c.ids, finishReason: c.finishReason,
      proxy: c.proxy, gold: c.gold, logprob: c.logprob, refLogprob: c.refLogprob,
      ...(c.steeredLogprob !== undefined ? { steeredLogprob: c.steeredLogprob } : {}),
    })),
    utility: utility.length > 0 ? utility : null,
    invalid: p.invalid,
    timing: p.timing,
  };
}

/** The results.json document (plain JSON values; non-finite numbers become null). */
export function resultsDocument(r: ABResult): unknown {
  return {
    format: RESULTS_FORMAT,
    version: 1,
    config: r.config,
    rewards: {
      proxy: r.config.proxy,
      gold: r.config.gold,
      note: 'proxy: used for selection (BoN, MBR-BoN); gold: used only to judge the arms and to calibrate β on the dev prompts',
    },
    beta: r.beta,
    prompts: r.prompts.map((prompt, k) => ({ index: k, prompt, pools: (r.pools[k] ?? []).map(poolJson) })),
    devPrompts: r.devPrompts.map((prompt, k) => ({ index: k, prompt, pools: r.devPools[k] ? [poolJson(r.devPools[k])] : [] })),
    selections: r.selections,
    arms: r.arms,
    calibration: r.calibration,
    overoptimization: {
      beta: r.overoptimization.beta,
      curves: r.overoptimization.curves,
      ns: r.overoptimization.ns,
      points: r.overoptimization.points,
      correlation: r.overoptimization.correlation,
      selections: r.overoptimization.selections.map((s) => ({ label: s.label, method: s.method, beta: s.beta, n: s.n, chosen: s.picks.map((p) => p.chosen) })),
    },
    findings: r.findings,
    timing: r.timing,
  };
}

export function resultsJson(r: ABResult): string {
  return `${JSON.stringify(resultsDocument(r), (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v instanceof Float64Array ? Array.from(v) : v))}\n`;
}

export interface WrittenReport {
  dir: string;
  files: string[];
  charts: RenderedCharts;
}

export async function writeReport(dir: string, r: ABResult): Promise<WrittenReport> {
  const charts = await renderCharts(r);
  const blocks = reportBlocks(r);
  const files: [string, string][] = [
    ['results.json', resultsJson(r)],
    ['report.md', toMarkdown(blocks)],
    ['report.html', toHtml(blocks, charts)],
    [CHART_FILES.goldVsKl, charts.goldVsKl],
    [CHART_FILES.proxyVsGold, charts.proxyVsGold],
    [CHART_FILES.rewardVsN, charts.rewardVsN],
  ];
  await writeFilesInterruptibly(files.map(([name, text]) => [join(dir, name), text] as const));
  return { dir, files: files.map(([name]) => join(dir, name)), charts };
}
