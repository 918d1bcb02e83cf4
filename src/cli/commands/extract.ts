/** `onnx-steer extract`: a steering vector from a pairs file. */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { extractVector } from '../../vectors/extract.js';
import { methodNames } from '../../vectors/methods.js';
import { loadPairs } from '../../vectors/pairs.js';
import { parseReadPosition } from '../../vectors/read.js';
import { formatSweep } from '../../vectors/sweep.js';
import type { SteeringVector } from '../../vectors/vector.js';
import { printJson } from '../common.js';
import { addModelOptions, loadModel, showProgress, type ModelCliOptions } from '../model-option.js';
import { checkOutputFile, parseListText, quantityOption } from '../../validate/index.js';

interface ExtractCliOptions extends ModelCliOptions {
  pairs?: string;
  method: string;
  sites: string;
  read?: string;
  folds: number;
  name?: string;
  description?: string;
  recommend: boolean;
  maxPerplexityRatio?: number;
  output?: string;
  force?: boolean;
}

export function summarizeVector(v: SteeringVector): string {
  const m = v.meta;
  const lines = [
    `${m.name ?? 'vector'}: ${m.method}, read ${m.read ?? '?'}, ${m.dataset ? `${m.dataset.pairs} pairs (sha256 ${m.dataset.sha256.slice(0, 12)}…)` : 'no dataset'}`,
    `model ${m.model.architecture}, hidden ${m.model.hiddenSize}, fingerprint ${m.model.fingerprint.slice(0, 16)}…`,
  ];
  for (const site of v.sites) {
    const s = m.sites[site];
    const sep = s?.separability;
    lines.push(`  ${site}: norm ${(s?.norm ?? 0).toFixed(3)}, |mean diff| ${(s?.contrastNorm ?? 0).toFixed(2)}, |h| ${(s?.residualNorm ?? 0).toFixed(1)}` +
      (sep ? `, held-out accuracy ${sep.accuracy.toFixed(2)} (probe ${sep.probeAccuracy.toFixed(2)}), effect size ${sep.effectSize.toFixed(2)}` : ''));
  }
  if (m.recommendedStrength) lines.push(`fluent strengths: ${m.recommendedStrength.min.toFixed(2)} … ${m.recommendedStrength.max.toFixed(2)}`);
  return lines.join('\n');
}

export function registerExtract(program: Command): void {
  const cmd = program.command('extract').description('extract a steering vector from contrast pairs (JSONL)');
  addModelOptions(cmd)
    .option('--pairs <file>', 'pairs file: JSONL of {prompt?, chosen, rejected, system?} (or positive/negative; add "response" for instruction contrasts)')
    .option('--method <name>', `direction method: ${methodNames().join(', ')}`, 'mean-diff')
    .option('--sites <list>', 'auto (take the sweep\'s recommendation) or comma-separated site names', 'auto')
    .option('--read <pos>', 'read position: last, mean (response tokens), response[:K] (per token, RAHF), index:<k> (default: mean; response:64 for instruction contrasts)')
    .option('--folds <k>', 'folds for held-out separability and effects', quantityOption('folds'), 5)
    .option('--name <name>', 'name recorded in the vector')
    .option('--description <text>', 'description recorded in the vector')
    .option('--no-recommend', 'skip measuring the fluent strength range')
    .option('--max-perplexity-ratio <r>', 'fluent = pair-text perplexity ratio at most this (default 1.5)', quantityOption('maxPerplexityRatio'))
    .option('-o, --output <file>', 'vector file to write (JSON)')
    .option('--force', 'overwrite the output')
    .option('--json', 'print one JSON document')
    .action(async (opts: ExtractCliOptions) => {
      if (!opts.pairs) throw new UsageError('--pairs <file> is required');
      if (!opts.output) throw new UsageError('-o/--output <file> is required');
      checkOutputFile(opts.output, { force: opts.force === true });
      const dataset = loadPairs(opts.pairs);
      const read = opts.read ? parseReadPosition(opts.read) : undefined;
      const sites = opts.sites === 'auto' ? 'auto' as const : parseListText('--sites', opts.sites, { unique: true });
      const progress = showProgress(opts.json) ? (m: string) => process.stderr.write(`${m}\n`) : undefined;
      const model = await loadModel(opts);
      try {
        const result = await extractVector(model, dataset, {
          method: opts.method, sites, folds: opts.folds, recommend: opts.recommend,
          ...(read ? { read } : {}),
          ...(opts.name ? { name: opts.name } : {}),
          ...(opts.description ? { description: opts.description } : {}),
          ...(opts.maxPerplexityRatio !== undefined ? { maxPerplexityRatio: opts.maxPerplexityRatio } : {}),
          ...(progress ? { onProgress: progress } : {}),
        });
        result.vector.save(opts.output);
        if (opts.json) {
          const { sites: siteList, ...file } = result.vector.toJSON();
          printJson({ output: opts.output, vector: { ...file, sites: siteList.map(({ direction: _d, ...rest }) => rest) }, ...(result.sweep ? { sweep: result.sweep } : {}), ...(result.curve ? { curve: result.curve } : {}) });
        } else {
          if (result.sweep) process.stdout.write(`${formatSweep(result.sweep)}\n\n`);
          process.stdout.write(`${summarizeVector(result.vector)}\nwrote ${opts.output}\n`);
        }
      } finally {
        await model.dispose();
      }
    });
}
