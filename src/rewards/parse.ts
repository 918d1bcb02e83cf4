/**
 * Rewards from spec strings `<kind>[:<arg>]`, the kind looked up in the
 * reward registry (registry.ts). Built in:
 *
 *   vader | afinn | afinn:sum | keyword:<word> | probe:<vector.json>
 *   verifier:<module>#<export> | module:<path>#<export>
 *   verifier:regex:<re> | verifier:keywords:<w,…>[@all] | verifier:json-schema:<file>
 *   verifier:names-again[:<tokens>] | verifier:quoted-speech   (see verifiers.ts)
 */
import { UnknownRewardError } from '../errors.js';
import { rewardKind, rewardUsages } from './registry.js';
import type { Reward, RewardContext } from './types.js';

export async function parseReward(spec: string, ctx: RewardContext = {}): Promise<Reward> {
  const text = spec.trim();
  const colon = text.indexOf(':');
  const head = colon >= 0 ? text.slice(0, colon) : text;
  const arg = colon >= 0 ? text.slice(colon + 1) : undefined;
  const kind = rewardKind(head);
  if (!kind) throw new UnknownRewardError(text, `unknown reward "${text}"`, rewardUsages());
  if (kind.arg === 'none' && arg !== undefined) throw new UnknownRewardError(text, `reward "${head}" takes no argument (got "${text}")`, rewardUsages());
  if (kind.arg === 'required' && !arg) throw new UnknownRewardError(text, `reward "${text}" needs ${kind.argHint ?? 'an argument'} after "${head}:"`, rewardUsages());
  return kind.create(arg, text, ctx);
}
