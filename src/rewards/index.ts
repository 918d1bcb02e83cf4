/** Rewards for Best-of-N selection and A/B judging. */
export { parseReward } from './parse.js';
export { registerReward, rewardKind, rewardKinds, rewardUsages } from './registry.js';
export type { RewardKind } from './spec.js';
export { BUILTIN_REWARDS } from './builtin.generated.js';
export { defineReward, checkRewardValues, type Reward, type RewardFn, type RewardItem, type RewardContext, type ProbeDirection, type VectorLoader } from './types.js';
export { vaderReward, afinnReward, keywordReward, type AfinnMode } from './kinds/lexicon.js';
export { probeReward, loadProbeJson } from './kinds/probe.js';
export { moduleReward, verifierReward, loadUserFunction, parseModuleRef, type ModuleRef, type UserRewardFn } from './kinds/module.js';
