/**
 * Preference-criterion flags shared by `sweep` and `extract`:
 *   --criterion dpo|rpo|mrpo, --reference <dir> (repeatable), --beta, --eta, --epsilon
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { DEFAULT_CRITERION_PARAMS, type CriterionParams } from '../../prefs/criteria.js';
import { CRITERIA, isCriterionName, type CriterionName } from '../../prefs/strength-criterion.js';
import { hookedModelDir } from '../../model/checkpoint-cache.js';
import { HookedModel } from '../../model/hooked-model.js';
import { parseFloatOption } from '../common.js';
import { sessionOptions, type ModelCliOptions } from '../model-option.js';

export interface CriterionCliOptions {
  criterion?: string;
  reference?: string[];
  beta?: number;
  eta?: number;
  epsilon?: number;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function addCriterionOptions(cmd: Command): Command {
  return cmd
    .option('--criterion <name>', `rank strengths by a preference criterion on held-out pairs: ${CRITERIA.join(', ')} (default: the fluent preference swing)`)
    .option('--reference <dir>', 'reference model for the criterion (repeatable; default: the unsteered model; mrpo needs two: the initial policy, then the external reference)', collect)
    .option('--beta <b>', 'criterion β > 0 (default 0.1)', parseFloatOption('--beta'))
    .option('--eta <η>', 'RPO weight of the chosen NLL, ≥ 0 (default 0.005)', parseFloatOption('--eta'))
    .option('--epsilon <ε>', 'MRPO clipping in (0, 1) (default 0.1)', parseFloatOption('--epsilon'));
}

/** Checks the flags (no model needed); undefined when no criterion is asked for. */
export function checkCriterionOptions(opts: CriterionCliOptions): { name: CriterionName; params: CriterionParams } | undefined {
  if (opts.criterion === undefined) {
    if (opts.reference || opts.beta !== undefined || opts.eta !== undefined || opts.epsilon !== undefined) throw new UsageError('--reference, --beta, --eta and --epsilon need --criterion');
    return undefined;
  }
  if (!isCriterionName(opts.criterion)) throw new UsageError(`--criterion must be one of ${CRITERIA.join(', ')}, got "${opts.criterion}"`);
  if (opts.beta !== undefined && !(opts.beta > 0)) throw new UsageError(`--beta must be > 0, got ${opts.beta}`);
  if (opts.eta !== undefined && !(opts.eta >= 0)) throw new UsageError(`--eta must be ≥ 0, got ${opts.eta}`);
  if (opts.epsilon !== undefined && !(opts.epsilon > 0 && opts.epsilon < 1)) throw new UsageError(`--epsilon must lie in (0, 1), got ${opts.epsilon}`);
  if (opts.criterion === 'mrpo' && (opts.reference?.length ?? 0) < 2) {
    throw new UsageError(`--criterion mrpo needs two --reference models (the initial policy, then the external reference); got ${opts.reference?.length ?? 0}`);
  }
  return {
    name: opts.criterion,
    params: { beta: opts.beta ?? DEFAULT_CRITERION_PARAMS.beta, eta: opts.eta ?? DEFAULT_CRITERION_PARAMS.eta, epsilon: opts.epsilon ?? DEFAULT_CRITERION_PARAMS.epsilon },
  };
}

/** Opens the reference models (checkpoints build once into the cache). */
export async function loadReferences(dirs: readonly string[], opts: ModelCliOptions): Promise<HookedModel[]> {
  const out: HookedModel[] = [];
  for (const d of dirs) out.push(await HookedModel.load(await hookedModelDir(d), sessionOptions(opts)));
  return out;
}
