/**
 * `length[:words|tokens|chars]`: the length of the response, a deliberately
 * misaligned reward. It says nothing about what a response means, so a
 * selector that maximises it optimises the budget, not the task; studies use
 * it as the bottom rung of a proxy ladder.
 *
 *   words   (default) whitespace-separated words of the response
 *   tokens  generated token ids (`item.ids`; a candidate without ids is an error)
 *   chars   UTF-16 code units of the response
 */
import { InvalidArgumentError, UnknownRewardError } from '../../errors.js';
import type { RewardKind } from '../spec.js';
import { defineReward, type Reward } from '../types.js';

export type LengthUnit = 'words' | 'tokens' | 'chars';

const UNITS: readonly LengthUnit[] = ['words', 'tokens', 'chars'];

export function lengthReward(unit: LengthUnit = 'words', spec = unit === 'words' ? 'length' : `length:${unit}`): Reward {
  return defineReward(spec, 'length', [], (items) => items.map((it, i) => {
    if (unit === 'chars') return it.response.length;
    if (unit === 'words') return it.response.split(/\s+/).filter((w) => w.length > 0).length;
    if (!it.ids) throw new InvalidArgumentError(`${spec}: candidate ${i} has no token ids`);
    return it.ids.length;
  }));
}

function isUnit(s: string): s is LengthUnit {
  return (UNITS as readonly string[]).includes(s);
}

export const lengthKind: RewardKind = {
  order: 5, name: 'length', usage: 'length[:words|tokens|chars]', description: 'length of the response (a deliberately misaligned proxy)', arg: 'optional',
  create: (arg, spec) => {
    if (arg === undefined) return lengthReward('words', spec);
    if (isUnit(arg)) return lengthReward(arg, spec);
    throw new UnknownRewardError(spec, `unknown length unit "${arg}" (use length, length:words, length:tokens or length:chars)`);
  },
};

export default lengthKind;
