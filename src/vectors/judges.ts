/**
 * Judges: scores of generated text that are independent of any vector.
 *
 * - `vader`: VADER compound sentiment in [−1, 1] (vader-sentiment);
 * - `afinn`: AFINN-165 score per word (the `sentiment` package), a second,
 *   independent lexicon to cross-check VADER (both are the scorers of the
 *   lexicon rewards in src/rewards/kinds/lexicon.ts, applied to one text);
 * - `dialogue`: quoted utterances per text (quotation marks ÷ 2).
 */
import { InvalidArgumentError } from '../errors.js';
import { afinnScore, vaderScore } from '../rewards/kinds/lexicon.js';

export interface Judge {
  name: string;
  description: string;
  score(text: string): number;
}

export function vaderJudge(): Judge {
  return { name: 'vader', description: 'VADER compound sentiment (−1 … 1)', score: vaderScore };
}

export function afinnJudge(): Judge {
  return { name: 'afinn', description: 'AFINN-165 sentiment per word', score: (t) => afinnScore(t) };
}

export function dialogueJudge(): Judge {
  return {
    name: 'dialogue',
    description: 'quoted utterances (quotation marks ÷ 2)',
    score: (t) => (t.match(/["“”]/g)?.length ?? 0) / 2,
  };
}

const JUDGES: Record<string, () => Judge> = { vader: vaderJudge, afinn: afinnJudge, dialogue: dialogueJudge };

export function judgeByName(name: string): Judge {
  const make = JUDGES[name];
  if (!make) throw new InvalidArgumentError(`unknown judge "${name}" (available: ${Object.keys(JUDGES).join(', ')})`);
  return make();
}
