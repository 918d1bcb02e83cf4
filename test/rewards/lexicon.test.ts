import { describe, expect, it } from 'vitest';
import { afinnReward, keywordReward, vaderReward } from '../../src/rewards/kinds/lexicon.js';
import { checkRewardValues, defineReward, type RewardItem } from '../../src/rewards/types.js';
import { RewardValueError, UnknownRewardError } from '../../src/errors.js';

const item = (response: string, prompt = 'Once upon a time'): RewardItem => ({ prompt, response });

describe('lexicon rewards', () => {
  it('vader is the compound score of the response only', async () => {
    // The vader-sentiment README example; the prompt is not scored.
    const r = await vaderReward().score([item('VADER is very smart, handsome, and funny', 'I hate this awful day'), item(''), item('The dog was sad.')]);
    expect(r[0]).toBeCloseTo(0.8545, 4);
    expect(r[1]).toBe(0);
    expect(r[2]).toBeLessThan(-0.4);
  });

  it('afinn is the comparative score (sum / tokens); afinn:sum the raw sum', async () => {
    // "Cats are stupid.": stupid = −2 over 3 tokens (the sentiment README example)
    const items = [item('Cats are stupid.'), item('happy happy joy'), item('')];
    expect([...(await afinnReward().score(items))]).toEqual([-2 / 3, 3, 0]);
    expect([...(await afinnReward('sum').score(items))]).toEqual([-2, 9, 0]);
  });

  it('keyword counts whole-word, case-insensitive occurrences', async () => {
    const r = keywordReward('happy');
    expect([...(await r.score([item('Happy happy unhappy happiness HAPPY!'), item('nothing'), item('happy_go')]))]).toEqual([3, 0, 0]);
    const phrase = keywordReward('ice cream');
    expect([...(await phrase.score([item('Ice  cream and ice cream; icecream')]))]).toEqual([2]);
    expect([...(await keywordReward('c++').score([item('I like c++ and C++.')]))]).toEqual([2]);
    expect(() => keywordReward('  ')).toThrow(UnknownRewardError);
  });

  it('returns an empty array for an empty batch', async () => {
    expect((await vaderReward().score([])).length).toBe(0);
  });
});

describe('reward value checks', () => {
  it('reports a NaN with the candidate it came from', async () => {
    const r = defineReward('custom', 'module', [], (items) => items.map((it) => (it.response === 'bad' ? NaN : 1)));
    const err = await r.score([item('good'), item('bad')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RewardValueError);
    expect((err as RewardValueError).index).toBe(1);
    expect((err as RewardValueError).message).toBe('reward "custom" returned NaN for candidate 1 ("bad")');
  });

  it('rejects infinities and wrong counts', () => {
    expect(() => checkRewardValues('r', [item('a')], [Infinity])).toThrow(/returned Infinity for candidate 0/);
    expect(() => checkRewardValues('r', [item('a'), item('b')], [1])).toThrow(/returned 1 scores for 2 candidates/);
    expect([...checkRewardValues('r', [item('a')], [0.5])]).toEqual([0.5]);
  });
});
