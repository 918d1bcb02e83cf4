/**
 * The reward contract: one row per registered reward kind, with a spec as
 * the kind's usage documents it and two candidates the reward must rank
 * (the first strictly higher). A new kind without a row fails the first
 * test; a kind that parses but scores wrongly fails its row.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseReward } from '../../src/rewards/parse.js';
import { rewardKinds } from '../../src/rewards/registry.js';
import type { RewardContext, RewardItem } from '../../src/rewards/types.js';

const dir = mkdtempSync(join(tmpdir(), 'reward-contract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'judge.mjs'), 'export const exclaims = (item) => (item.response.match(/!/g) ?? []).length;\n');

const site = 'blocks.0.hook_resid_post';
const item = (response: string, activations?: number[]): RewardItem => ({
  prompt: 'Tell me about your day.', response, ...(activations ? { activations: { [site]: Float32Array.from(activations) } } : {}),
});

interface Row { kind: string; spec: string; ctx?: RewardContext; better: RewardItem; worse: RewardItem }

const ROWS: Row[] = [
  { kind: 'vader', spec: 'vader', better: item('What a wonderful, happy day!'), worse: item('What a terrible, awful day.') },
  { kind: 'afinn', spec: 'afinn', better: item('I love it, great fun.'), worse: item('I hate it, horrible.') },
  { kind: 'keyword', spec: 'keyword:happy', better: item('happy, so happy'), worse: item('sad') },
  { kind: 'probe', spec: 'probe:dir.json', ctx: { cwd: dir, loadVector: () => ({ site, direction: Float32Array.from([0, 2]) }) }, better: item('a', [0, 3]), worse: item('b', [9, -1]) },
  { kind: 'length', spec: 'length', better: item('one two three four'), worse: item('one') },
  { kind: 'verifier', spec: 'verifier:regex:^yes', better: item('yes, gladly'), worse: item('no') },
  { kind: 'module', spec: 'module:./judge.mjs#exclaims', ctx: { cwd: dir }, better: item('wow! yes!'), worse: item('fine.') },
];

describe('reward contract', () => {
  it('has a row for every registered kind', () => {
    expect(ROWS.map((r) => r.kind).sort()).toEqual(rewardKinds().map((k) => k.name).sort());
  });

  for (const row of ROWS) {
    it(`${row.kind}: parses ${row.spec} and ranks the better text higher`, async () => {
      const reward = await parseReward(row.spec, row.ctx ?? {});
      expect(reward.kind).toBe(row.kind);
      expect(reward.spec).toBe(row.spec);
      const [better, worse] = await reward.score([row.better, row.worse]);
      expect(Number.isFinite(better) && Number.isFinite(worse)).toBe(true);
      expect(better as number).toBeGreaterThan(worse as number);
    });
  }
});
