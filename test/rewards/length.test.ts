import { describe, expect, it } from 'vitest';
import { lengthReward } from '../../src/rewards/kinds/length.js';
import { parseReward } from '../../src/rewards/parse.js';
import { InvalidArgumentError, UnknownRewardError } from '../../src/errors.js';

const item = (response: string, ids?: number[]) => ({ prompt: 'Once upon a time', response, ...(ids ? { ids } : {}) });

describe('length reward', () => {
  it('counts words by default, and tokens or characters when asked', async () => {
    const items = [item('  The dog ran.\nIt was  fun! ', [5, 6, 7]), item('', [])];
    expect([...(await lengthReward().score(items))]).toEqual([6, 0]);
    expect([...(await lengthReward('tokens').score(items))]).toEqual([3, 0]);
    expect([...(await lengthReward('chars').score(items))]).toEqual([items[0]?.response.length, 0]);
  });

  it('is a registered kind with units, and refuses an unknown unit or missing ids', async () => {
    expect((await parseReward('length')).spec).toBe('length');
    expect([...(await (await parseReward('length:tokens')).score([item('a b', [1, 2, 3, 4])]))]).toEqual([4]);
    await expect(parseReward('length:lines')).rejects.toThrow(UnknownRewardError);
    await expect(lengthReward('tokens').score([item('no ids')])).rejects.toThrow(InvalidArgumentError);
  });
});
