/** Rewards for Best-of-N selection and A/B judging. */
export { parseReward, REWARD_KINDS } from './parse.js';
export { defineReward, checkRewardValues, type Reward, type RewardFn, type RewardItem, type RewardContext, type ProbeDirection, type VectorLoader } from './types.js';
export { vaderReward, afinnReward, keywordReward, type AfinnMode } from './lexicon.js';
export { probeReward, loadProbeJson } from './probe.js';
export { moduleReward, verifierReward, loadUserFunction, parseModuleRef, type ModuleRef, type UserRewardFn } from './module.js';
