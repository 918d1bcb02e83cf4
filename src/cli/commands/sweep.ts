/** `onnx-steer sweep`: per-site separability and steering effect over a strength grid. */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { writeFilesInterruptibly } from '../../files/fs.js';
import { methodNames } from '../../vectors/methods.js';
import { loadPairs } from '../../pairs/pairs.js';
import { parseReadPosition } from '../../vectors/positions.js';
import { formatSweep, sweep } from '../../vectors/sweep.js';
import { printJson } from '../common.js';
import { addModelOptions, loadModel, type ModelCliOptions } from '../model-option.js';
import { progressFor } from '../progress.js';
import { checkOutputFile, listOption, numberListOption, quantityOption } from '../../validate/index.js';
import { addCriterionOptions, checkCriterionOptions, loadReferences, type CriterionCliOptions } from './criterion-options.js';

interface SweepCliOptions extends ModelCliOptions, CriterionCliOptions {
  pairs?: string;
  method: string;
  read?: string;
  sites?: string[];
  folds: number;
  fractions?: number[];
  force?: boolean;
  maxPerplexityRatio?: number;
  output?: string;
}

export function registerSweep(program: Command): void {
  const cmd = program.command('sweep').description('rank hook sites and strengths for a pairs file: held-out separability and preference effect');
  addModelOptions(cmd)
    .option('--pairs <file>', 'pairs file (JSONL)')
    .option('--method <name>', `direction method: ${methodNames().join(', ')}`, 'mean-diff')
    .option('--read <pos>', 'read position: last, mean, response[:K], index:<k>')
    .option('--sites <list>', 'candidate sites (default: every hooked site)', listOption('--sites', { unique: true }))
    .option('--folds <k>', 'folds (default 5)', quantityOption('folds'), 5)
    .option('--fractions <list>', 'strengths as fractions of |h| / |v| (default 0.05,0.1,0.15,0.2,0.25,0.3,0.4,0.5,0.65,0.8; both signs)', numberListOption('--fractions', { above: 0 }, { unique: true }))
    .option('--max-perplexity-ratio <r>', 'fluent = pair-text perplexity ratio at most this (default 1.5)', quantityOption('maxPerplexityRatio'))
    .option('-o, --output <file>', 'write the report as JSON')
    .option('--force', 'overwrite the output');
  addCriterionOptions(cmd)
    .option('--json', 'print the report as JSON')
    .action(async (opts: SweepCliOptions) => {
      const criterion = checkCriterionOptions(opts);
      if (!opts.pairs) throw new UsageError('--pairs <file> is required');
      const fractions = opts.fractions;
      if (opts.output) checkOutputFile(opts.output, { force: opts.force === true });
      const dataset = loadPairs(opts.pairs);
      const read = opts.read ? parseReadPosition(opts.read) : undefined;
      const progress = progressFor('sweep');
      const model = await loadModel(opts, progress);
      const references = criterion ? await loadReferences(opts.reference ?? [], opts) : [];
      try {
        const report = await sweep(model, dataset, {
          method: opts.method, folds: opts.folds,
          ...(read ? { read } : {}),
          ...(opts.sites ? { sites: opts.sites } : {}),
          ...(fractions ? { fractions } : {}),
          ...(criterion ? { criterion: { ...criterion, references } } : {}),
          ...(opts.maxPerplexityRatio !== undefined ? { maxPerplexityRatio: opts.maxPerplexityRatio } : {}),
          onProgress: (m: string) => progress.message(m),
        });
        if (opts.output) await writeFilesInterruptibly([[opts.output, `${JSON.stringify(report, null, 2)}\n`]]);
        if (opts.json) printJson(report);
        else process.stdout.write(`${formatSweep(report)}\n${opts.output ? `wrote ${opts.output}\n` : ''}`);
      } finally {
        for (const r of references) await r.dispose();
        await model.dispose();
      }
    });
}
