/**
 * Rewards computed from the response text alone:
 *
 * - `vader`: VADER's compound score (Hutto & Gilbert 2014, `vader-sentiment`),
 *   a normalised valence in [−1, 1].
 * - `afinn`: the AFINN-165 lexicon through the `sentiment` package, as its
 *   *comparative* score: the sum of word valences (each in [−5, 5], with the
 *   package's negation handling) divided by the number of tokens, so long
 *   responses are not rewarded for length. `afinn:sum` gives the raw sum.
 *   An empty response scores 0 under both.
 * - `keyword:<word>`: the number of case-insensitive whole-word occurrences of
 *   the word (or phrase) in the response.
 *
 * Only the response is scored, never the prompt.
 */
import { createRequire } from 'node:module';
import Sentiment from 'sentiment';
import { UnknownRewardError } from '../../errors.js';
import type { RewardKind } from '../spec.js';
import { defineReward, type Reward } from '../types.js';

/** vader-sentiment is untyped CommonJS: loaded through require and typed here, with no ambient declaration. */
interface Vader { SentimentIntensityAnalyzer: { polarity_scores(text: string): { compound: number } } }
const vader = createRequire(import.meta.url)('vader-sentiment') as Vader;

const afinn = new Sentiment();

/** VADER's compound valence of a text, in [−1, 1]. */
export function vaderScore(text: string): number {
  return vader.SentimentIntensityAnalyzer.polarity_scores(text).compound;
}

export type AfinnMode = 'comparative' | 'sum';

/** AFINN-165 valence of a text: per token (comparative) or the raw sum. */
export function afinnScore(text: string, mode: AfinnMode = 'comparative'): number {
  const r = afinn.analyze(text);
  return mode === 'sum' ? r.score : r.comparative;
}

export function vaderReward(spec = 'vader'): Reward {
  return defineReward(spec, 'vader', [], (items) => items.map((it) => vaderScore(it.response)));
}

export function afinnReward(mode: AfinnMode = 'comparative', spec = mode === 'comparative' ? 'afinn' : 'afinn:sum'): Reward {
  return defineReward(spec, 'afinn', [], (items) => items.map((it) => afinnScore(it.response, mode)));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whole-word, case-insensitive occurrence count of `word` (letters, digits and _ are word characters). */
export function keywordReward(word: string, spec = `keyword:${word}`): Reward {
  const trimmed = word.trim();
  if (trimmed.length === 0) throw new UnknownRewardError(spec, `reward "${spec}" needs a word after "keyword:"`);
  const pattern = trimmed.split(/\s+/).map(escapeRegExp).join('\\s+');
  const re = new RegExp(`(?<![\\p{L}\\p{N}_])${pattern}(?![\\p{L}\\p{N}_])`, 'giu');
  return defineReward(spec, 'keyword', [], (items) => items.map((it) => it.response.match(re)?.length ?? 0));
}

export const vaderKind: RewardKind = {
  order: 1, name: 'vader', usage: 'vader', description: "VADER's compound valence in [−1, 1]", arg: 'none',
  create: (_arg, spec) => vaderReward(spec),
};

export const afinnKind: RewardKind = {
  order: 2, name: 'afinn', usage: 'afinn', description: 'AFINN-165 valence per token (afinn:sum for the raw sum)', arg: 'optional',
  create: (arg, spec) => {
    if (arg === undefined || arg === 'comparative') return afinnReward('comparative', spec);
    if (arg === 'sum') return afinnReward('sum', spec);
    throw new UnknownRewardError(spec, `unknown afinn mode "${arg}" (use afinn or afinn:sum)`);
  },
};

export const keywordKind: RewardKind = {
  order: 3, name: 'keyword', usage: 'keyword:<word>', description: 'whole-word occurrences of a word or phrase', arg: 'required', argHint: 'a word',
  create: (arg, spec) => keywordReward(arg ?? '', spec),
};

export default [vaderKind, afinnKind, keywordKind] as const;
