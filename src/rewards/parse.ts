/**
 * Rewards from spec strings:
 *
 *   vader | afinn | afinn:sum | keyword:<word> | probe:<vector.json>
 *   verifier:<module>#<export> | module:<path>#<export>
 */
import { resolve } from 'node:path';
import { afinnReward, keywordReward, vaderReward } from './lexicon.js';
import { UnknownRewardError } from '../errors.js';
import { loadUserFunction, moduleReward, parseModuleRef, verifierReward } from './module.js';
import { loadProbeJson, probeReward } from './probe.js';
import type { Reward, RewardContext } from './types.js';

export const REWARD_KINDS = ['vader', 'afinn', 'keyword', 'probe', 'verifier', 'module'] as const;

export async function parseReward(spec: string, ctx: RewardContext = {}): Promise<Reward> {
  const text = spec.trim();
  const colon = text.indexOf(':');
  const kind = colon >= 0 ? text.slice(0, colon) : text;
  const arg = colon >= 0 ? text.slice(colon + 1) : undefined;
  const cwd = ctx.cwd ?? process.cwd();
  const needArg = (what: string): string => {
    if (!arg) throw new UnknownRewardError(text, `reward "${text}" needs ${what} after "${kind}:"`);
    return arg;
  };
  switch (kind) {
    case 'vader':
      if (arg !== undefined) throw new UnknownRewardError(text, `reward "vader" takes no argument (got "${text}")`);
      return vaderReward();
    case 'afinn':
      if (arg === undefined || arg === 'comparative') return afinnReward('comparative', text);
      if (arg === 'sum') return afinnReward('sum', text);
      throw new UnknownRewardError(text, `unknown afinn mode "${arg}" (use afinn or afinn:sum)`);
    case 'keyword':
      return keywordReward(needArg('a word'), text);
    case 'probe': {
      const path = resolve(cwd, needArg('a vector file'));
      const probe = await (ctx.loadVector ?? loadProbeJson)(path);
      return probeReward(probe, { spec: text, ...(ctx.model ? { model: ctx.model } : {}) });
    }
    case 'verifier': {
      const ref = parseModuleRef(text, needArg('<module>#<export>'));
      return verifierReward(text, ref, await loadUserFunction(ref, cwd));
    }
    case 'module': {
      const ref = parseModuleRef(text, needArg('<path>#<export>'));
      return moduleReward(text, ref, await loadUserFunction(ref, cwd));
    }
    default:
      throw new UnknownRewardError(text, `unknown reward "${text}"`);
  }
}
