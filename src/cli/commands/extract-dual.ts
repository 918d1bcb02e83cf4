/** `onnx-steer extract --method rahf-dual`: the difference of two tuned models on the same texts. */
import { UsageError } from '../../errors.js';
import { hookedModelDir } from '../../runtime/checkpoint-cache.js';
import { HookedModel } from '../../runtime/model.js';
import { defaultDualSites, extractDualVector } from '../../vectors/dual.js';
import { loadPairs } from '../../vectors/pairs.js';
import { parseReadPosition } from '../../vectors/positions.js';
import { parseListOption, printJson } from '../common.js';
import { showProgress, type ModelCliOptions } from '../model-option.js';
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
}

export async function runDual(opts: DualCliOptions, pairsFile: string, output: string): Promise<void> {
  if (!opts.preferredModel || !opts.dispreferredModel) throw new UsageError('--method rahf-dual needs --preferred-model <dir> and --dispreferred-model <dir>');
  if (opts.model) throw new UsageError('--method rahf-dual takes --target-model <dir> (the model to steer), not --model');
  const read = parseReadPosition(opts.read ?? 'response:64');
  if (read.kind !== 'response') throw new UsageError(`--method rahf-dual reads response tokens (--read response[:K]), got --read ${opts.read ?? ''}`);
  const dataset = loadPairs(pairsFile);
  const session = {
    ...(opts.threads !== undefined ? { intraOpNumThreads: opts.threads } : {}),
    ...(opts.ep ? { executionProviders: opts.ep } : {}),
  };
  const open = async (dir: string) => HookedModel.load(await hookedModelDir(dir), session);
  const opened: HookedModel[] = [];
  try {
    const preferred = await open(opts.preferredModel);
    opened.push(preferred);
    const dispreferred = await open(opts.dispreferredModel);
    opened.push(dispreferred);
    const target = opts.targetModel ? await open(opts.targetModel) : undefined;
    if (target) opened.push(target);
    const sites = opts.sites === 'auto' ? defaultDualSites(target ?? dispreferred) : parseListOption(opts.sites);
    const progress = showProgress(opts.json) ? (m: string) => process.stderr.write(`${m}\n`) : undefined;
    const result = await extractDualVector({ preferred, dispreferred, ...(target ? { target } : {}) }, dataset, {
      sites, tokens: read.tokens, folds: opts.folds, recommend: opts.recommend,
      ...(opts.name ? { name: opts.name } : {}),
      ...(opts.description ? { description: opts.description } : {}),
      ...(opts.maxPerplexityRatio !== undefined ? { maxPerplexityRatio: opts.maxPerplexityRatio } : {}),
      ...(progress ? { onProgress: progress } : {}),
    });
    result.vector.save(output);
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
