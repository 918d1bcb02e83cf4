/** `onnx-steer extract`: a steering vector from a pairs file. */
import { writeFilesInterruptibly } from '../../files/fs.js';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { extractVector } from '../../vectors/extract.js';
import { RAHF_DUAL } from '../../vectors/dual.js';
import { runDual, type DualCliOptions } from './extract-dual.js';
import { summarizeVector } from './vector-summary.js';
import { methodNames } from '../../vectors/methods.js';
import { loadPairs } from '../../pairs/pairs.js';
import { parseReadPosition } from '../../vectors/positions.js';
import { formatSweep } from '../../vectors/sweep.js';
import { printJson } from '../common.js';
import { addModelOptions, loadModel } from '../model-option.js';
import { progressFor } from '../progress.js';
import { checkOutputFile, parseListText, quantityOption } from '../../validate/index.js';
import { addCriterionOptions, checkCriterionOptions, loadReferences, type CriterionCliOptions } from './criterion-options.js';

/** Every `extract` option: the rahf-dual ones (DualCliOptions) and the rest. */
interface ExtractCliOptions extends DualCliOptions {
  pairs?: string;
  method: string;
  output?: string;
  force?: boolean;
}

export function registerExtract(program: Command): void {
  const cmd = program.command('extract').description('extract a steering vector from contrast pairs (JSONL)');
  addModelOptions(cmd)
    .option('--pairs <file>', 'pairs file: JSONL of {prompt?, chosen, rejected, system?} (or positive/negative; add "response" for instruction contrasts)')
    .option('--method <name>', `direction method: ${[...methodNames(), RAHF_DUAL].join(', ')}`, 'mean-diff')
    .option('--preferred-model <dir>', 'rahf-dual: the preferred-tuned model (hooked directory or HF checkpoint)')
    .option('--dispreferred-model <dir>', 'rahf-dual: the dispreferred-tuned model (hooked directory or HF checkpoint)')
    .option('--target-model <dir>', 'rahf-dual: the model the vector will steer (default: the dispreferred model)')
    .option('--low-rank <r|auto>', 'rahf-dual: also fit a rank-r ridge map h ↦ δ per site (auto: rank by held-out R²); needs a model built with --low-rank to apply')
    .option('--ridge <scale|auto>', 'rahf-dual --low-rank: ridge λ as a multiple of trace(XᵀX)/hidden (default auto)')
    .option('--sites <list>', 'auto (take the sweep\'s recommendation) or comma-separated site names', 'auto')
    .option('--read <pos>', 'read position: last, mean (response tokens), response[:K] (per token, RAHF), index:<k> (default: mean; response:64 for instruction contrasts)')
    .option('--folds <k>', 'folds for held-out separability and effects', quantityOption('folds'), 5)
    .option('--name <name>', 'name recorded in the vector')
    .option('--description <text>', 'description recorded in the vector')
    .option('--no-recommend', 'skip measuring the fluent strength range')
    .option('--max-perplexity-ratio <r>', 'fluent = pair-text perplexity ratio at most this (default 1.5)', quantityOption('maxPerplexityRatio'))
    .option('-o, --output <file>', 'vector file to write (JSON)')
    .option('--force', 'overwrite the output');
  addCriterionOptions(cmd)
    .option('--json', 'print one JSON document')
    .action(async (opts: ExtractCliOptions & CriterionCliOptions) => {
      const criterion = checkCriterionOptions(opts);
      if (criterion && opts.recommend === false) throw new UsageError('--criterion chooses the recommended strength: drop --no-recommend');
      if (!opts.pairs) throw new UsageError('--pairs <file> is required');
      if (!opts.output) throw new UsageError('-o/--output <file> is required');
      checkOutputFile(opts.output, { force: opts.force === true });
      if (opts.method === RAHF_DUAL) {
        await runDual(opts, opts.pairs, opts.output);
        return;
      }
      for (const flag of ['preferredModel', 'dispreferredModel', 'targetModel', 'lowRank', 'ridge'] as const) {
        if (opts[flag]) throw new UsageError(`--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is for --method ${RAHF_DUAL} only`);
      }
      const dataset = loadPairs(opts.pairs);
      const read = opts.read ? parseReadPosition(opts.read) : undefined;
      const sites = opts.sites === 'auto' ? 'auto' as const : parseListText('--sites', opts.sites, { unique: true });
      const progress = progressFor('extract');
      const model = await loadModel(opts, progress);
      const references = criterion ? await loadReferences(opts.reference ?? [], opts) : [];
      try {
        const result = await extractVector(model, dataset, {
          ...(criterion ? { criterion: { ...criterion, references } } : {}),
          method: opts.method, sites, folds: opts.folds, recommend: opts.recommend,
          ...(read ? { read } : {}),
          ...(opts.name ? { name: opts.name } : {}),
          ...(opts.description ? { description: opts.description } : {}),
          ...(opts.maxPerplexityRatio !== undefined ? { maxPerplexityRatio: opts.maxPerplexityRatio } : {}),
          onProgress: (m: string) => progress.message(m),
        });
        await writeFilesInterruptibly([[opts.output, result.vector.fileText()]]);
        if (opts.json) {
          const { sites: siteList, ...file } = result.vector.toJSON();
          printJson({ output: opts.output, vector: { ...file, sites: siteList.map(({ direction: _d, ...rest }) => rest) }, ...(result.sweep ? { sweep: result.sweep } : {}), ...(result.curve ? { curve: result.curve } : {}) });
        } else {
          if (result.sweep) process.stdout.write(`${formatSweep(result.sweep)}\n\n`);
          process.stdout.write(`${summarizeVector(result.vector)}\nwrote ${opts.output}\n`);
        }
      } finally {
        for (const r of references) await r.dispose();
        await model.dispose();
      }
    });
}
