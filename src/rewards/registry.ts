/**
 * The reward registry: reward kinds by the head of their spec. parseReward
 * (parse.ts), the `bon` and `ab` commands and the library read it, so a
 * registered kind is usable everywhere a reward spec is accepted. Add one
 * with a file in ./kinds/ default-exporting a RewardKind (or a readonly
 * array of related kinds) and `npx tsx scripts/registries.ts`, which
 * rewrites builtin.generated.ts; or at run time with registerReward.
 */
import { InvalidArgumentError } from '../errors.js';
import { BUILTIN_REWARDS } from './builtin.generated.js';
import type { RewardKind } from './spec.js';

const REGISTRY = new Map<string, RewardKind>(BUILTIN_REWARDS.map((k) => [k.name, k]));

/** Adds (or replaces) a reward kind. */
export function registerReward(kind: RewardKind): void {
  if (!/^[a-z][a-z0-9-]*$/.test(kind.name)) throw new InvalidArgumentError(`reward kinds are lower-case words with dashes, got "${kind.name}"`);
  REGISTRY.set(kind.name, kind);
}

export function rewardKind(name: string): RewardKind | undefined {
  return REGISTRY.get(name);
}

export function rewardKinds(): RewardKind[] {
  return [...REGISTRY.values()];
}

/** How each kind is written (`vader`, `keyword:<word>`, …), in registry order. */
export function rewardUsages(): string[] {
  return rewardKinds().map((k) => k.usage);
}
