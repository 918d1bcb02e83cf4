/**
 * Reward scoring that keeps going past a bad value. A reward returning NaN,
 * ±Infinity or a non-number for a candidate throws RewardValueError naming
 * that candidate; here the batch is then scored item by item so every bad
 * candidate is found, its value becomes null (never averaged in) and the
 * problem is listed with the candidate it came from. Any other failure (a
 * verifier module that throws, an unloadable module) propagates as is.
 */
import { RewardValueError } from '../errors.js';
import type { Reward, RewardItem } from '../rewards/types.js';

export interface InvalidReward {
  /** `proxy` or `gold`. */
  role: string;
  reward: string;
  /** The candidate's index in its pool. */
  candidate: number;
  /** The value as text (`NaN`, `Infinity`, `"abc"`, …). */
  value: string;
  message: string;
}

export interface ScoredRewards {
  values: (number | null)[];
  invalid: InvalidReward[];
}

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export async function scoreRewards(reward: Reward, items: readonly RewardItem[], role: string): Promise<ScoredRewards> {
  try {
    return { values: Array.from(await reward.score(items)), invalid: [] };
  } catch (err) {
    if (!(err instanceof RewardValueError) || err.index < 0) throw err;
  }
  const values: (number | null)[] = [];
  const invalid: InvalidReward[] = [];
  for (let i = 0; i < items.length; i++) {
    try {
      const [v] = await reward.score([items[i] as RewardItem]);
      values.push(v ?? null);
    } catch (err) {
      if (!(err instanceof RewardValueError)) throw err;
      values.push(null);
      invalid.push({ role, reward: reward.spec, candidate: i, value: describe(err.value), message: err.message.replace(/candidate 0/, `candidate ${i}`) });
    }
  }
  return { values, invalid };
}
