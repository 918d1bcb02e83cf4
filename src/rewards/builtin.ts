/**
 * The built-in reward kinds, in the order help and messages list them. A new
 * reward is a file exporting a RewardKind (see spec.ts) and one entry here.
 */
import { afinnKind, keywordKind, vaderKind } from './lexicon.js';
import { lengthKind } from './length.js';
import { moduleKind } from './module.js';
import { verifierKind } from './verifiers.js';
import { probeKind } from './probe.js';
import type { RewardKind } from './spec.js';

export const BUILTIN_REWARDS: readonly RewardKind[] = [vaderKind, afinnKind, keywordKind, probeKind, lengthKind, verifierKind, moduleKind];
