import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, UnknownRewardError } from '../../src/errors.js';
import { parseReward } from '../../src/rewards/parse.js';
import { registerReward, rewardKind, rewardUsages } from '../../src/rewards/registry.js';
import { defineReward } from '../../src/rewards/types.js';

describe('the reward registry', () => {
  it('lists the built-in kinds in order', () => {
    expect(rewardUsages()).toEqual(['vader', 'afinn', 'keyword:<word>', 'probe:<vector.json>', 'length[:words|tokens|chars]', 'verifier:<regex:…|keywords:…|json-schema:…|names-again|quoted-speech|module#export>', 'module:<path>#<export>']);
    expect(rewardKind('keyword')?.arg).toBe('required');
  });

  it('parses specs of a kind registered from outside, checking its argument rule', async () => {
    registerReward({
      name: 'test-length', usage: 'test-length[:<scale>]', description: 'response length × scale', arg: 'optional',
      create: (arg, spec) => defineReward(spec, 'test-length', [], (items) => items.map((it) => it.response.length * Number(arg ?? 1))),
    });
    const r = await parseReward('test-length:2');
    expect(r.kind).toBe('test-length');
    expect([...(await r.score([{ prompt: 'p', response: 'abc' }]))]).toEqual([6]);
    expect(rewardUsages()).toContain('test-length[:<scale>]');
    await expect(parseReward('nope')).rejects.toThrow(/rewards: vader, .*test-length\[:<scale>\]/);
    await expect(parseReward('vader:x')).rejects.toThrow(UnknownRewardError);
    expect(() => registerReward({ ...(rewardKind('vader')!), name: 'Not OK' })).toThrow(InvalidArgumentError);
  });
});
