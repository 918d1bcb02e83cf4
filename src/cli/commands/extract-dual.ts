/** `onnx-steer extract --method rahf-dual`: the difference of two tuned models on the same texts. */
import { UsageError } from '../../errors.js';
import { writeFilesInterruptibly } from '../../files/fs.js';
import type { LowRankFitOptions } from '../../vectors/lowrank-fit.js';
import { hookedModelDir } from '../../model/checkpoint-cache.js';
import { HookedModel } from '../../model/hooked-model.js';
import { defaultDualSites, extractDualVector } from '../../vectors/dual.js';
import { loadPairs } from '../../pairs/pairs.js';
import { parseReadPosition } from '../../vectors/positions.js';
import { printJson } from '../common.js';
import { parseListText } from '../../validate/index.js';
import { checkpointBuildProgress, sessionOptions, type ModelCliOptions } from '../model-option.js';
import { progressFor } from '../progress.js';
import { summarizeVector } from './vector-summary.js';

export interface DualCliOptions extends ModelCliOptions {
  preferredModel?: string;
  dispreferredModel?: string;
  targetModel?: string;
  sites: string;
  read?: string;
  folds: number;
  name?: string;
  description?: string;
  recommend: boolean;
  maxPerplexityRatio?: number;
  lowRank?: string;
  ridge?: string;
}

export async function runDual(opts: DualCliOptions, pairsFile: string, output: string): Promise<void> {
  if (!opts.preferredModel || !opts.dispreferredModel) throw new UsageError('--method rahf-dual needs --preferred-model <dir> and --dispreferred-model <dir>');
  if (opts.model) throw new UsageError('--method rahf-dual takes --target-model <dir> (the model to steer), not --model');
  const read = parseReadPosition(opts.read ?? 'response:64');
  if (read.kind !== 'response') throw new UsageError(`--method rahf-dual reads response tokens (--read response[:K]), got --read ${opts.read ?? ''}`);
  const dataset = loadPairs(pairsFile);
  const session = sessionOptions(opts);
  const progress = progressFor('extract');
  const open = async (dir: string) => HookedModel.load(await hookedModelDir(dir, checkpointBuildProgress(progress, dir)), session);
  const opened: HookedModel[] = [];
  try {
    const preferred = await open(opts.preferredModel);
    opened.push(preferred);
    const dispreferred = await open(opts.dispreferredModel);
    opened.push(dispreferred);
    const target = opts.targetModel ? await open(opts.targetModel) : undefined;
    if (target) opened.push(target);
    const lowRank = lowRankOptions(opts, preferred.manifest.hiddenSize);
    const sites = opts.sites === 'auto' ? defaultDualSites(target ?? dispreferred) : parseListText('--sites', opts.sites, { unique: true });
    const result = await extractDualVector({ preferred, dispreferred, ...(target ? { target } : {}) }, dataset, {
      sites, tokens: read.tokens, folds: opts.folds, recommend: opts.recommend,
      ...(opts.name ? { name: opts.name } : {}),
      ...(opts.description ? { description: opts.description } : {}),
      ...(opts.maxPerplexityRatio !== undefined ? { maxPerplexityRatio: opts.maxPerplexityRatio } : {}),
      ...(lowRank ? { lowRank } : {}),
      onProgress: (m: string) => progress.message(m),
    });
    await writeFilesInterruptibly([[output, result.vector.fileText()]]);
    if (opts.json) {
      const { sites: siteList, ...file } = result.vector.toJSON();
      printJson({ output, vector: { ...file, sites: siteList.map(({ direction: _d, ...rest }) => rest) }, ...(result.curve ? { curve: result.curve } : {}) });
    } else {
      process.stdout.write(`${summarizeVector(result.vector)}\nwrote ${output}\n`);
    }
  } finally {
    for (const m of opened) await m.dispose();
  }
}

/** `--low-rank <r|auto>` and `--ridge <λ scale|auto>` → fit options (undefined without --low-rank). */
export function lowRankOptions(opts: { lowRank?: string; ridge?: string }, hidden: number): LowRankFitOptions | undefined {
  if (opts.lowRank === undefined) {
    if (opts.ridge !== undefined) throw new UsageError('--ridge needs --low-rank');
    return undefined;
  }
  const out: LowRankFitOptions = {};
  if (opts.lowRank !== 'auto') {
    const r = Number(opts.lowRank);
    if (!Number.isInteger(r) || r < 1 || r >= hidden) throw new UsageError(`--low-rank must be auto or an integer in [1, ${hidden - 1}] (below the hidden size ${hidden}), got "${opts.lowRank}"`);
    out.ranks = [r];
  }
  if (opts.ridge !== undefined && opts.ridge !== 'auto') {
    const l = Number(opts.ridge);
    if (!(l > 0) || !Number.isFinite(l)) throw new UsageError(`--ridge must be auto or a number > 0 (λ as a multiple of trace(XᵀX)/hidden), got "${opts.ridge}"`);
    out.lambdaScales = [l];
  }
  return out;
}
