import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileNotFoundError, InvalidArgumentError, InvalidDataError, ShapeMismatchError } from '../../src/errors.js';
import { parseReward } from '../../src/rewards/parse.js';
import { RewardModuleError, RewardValueError, UnknownRewardError } from '../../src/errors.js';
import type { ProbeDirection, RewardItem } from '../../src/rewards/types.js';
import { tempDir } from '../helpers/paths.js';

let dir: { path: string; cleanup: () => void };

beforeAll(() => {
  dir = tempDir('onnx-steer-rewards-');
  writeFileSync(join(dir.path, 'judges.mjs'), `
export function hasHappy(item) { return /happy/i.test(item.response); }
export function asNumber(item) { return item.response.length === 1 ? 1 : 0; }
export function half() { return 0.5; }
export async function lengthReward(item) { return item.response.length + item.prompt.length / 100; }
export function nanFor(item) { return item.response === 'x' ? NaN : 1; }
export function throwsOn(item) { if (item.response === 'boom') throw new Error('kaboom'); return true; }
export function text() { return 'yes'; }
export const notAFunction = 3;
export default function (item) { return item.response.split(' ').length; }
`);
  writeFileSync(join(dir.path, 'broken.mjs'), 'throw new Error("module init failed");\n');
  writeFileSync(join(dir.path, 'probe.json'), JSON.stringify({ site: 'blocks.1.hook_resid_post', direction: [3, 4, 0], bias: 0.5 }));
  writeFileSync(join(dir.path, 'bad-probe.json'), JSON.stringify({ site: 'blocks.1.hook_resid_post', direction: [] }));
});
afterAll(() => dir.cleanup());

const items = (...responses: string[]): RewardItem[] => responses.map((response) => ({ prompt: 'P', response }));

describe('parseReward: spec errors', () => {
  it('an unknown spec is a one-line usage error', async () => {
    const err = await parseReward('sentiment-model').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownRewardError);
    expect((err as UnknownRewardError).exitCode).toBe(2);
    expect((err as Error).message).toBe(
      'unknown reward "sentiment-model"; rewards: vader, afinn, keyword:<word>, probe:<vector.json>, length[:words|tokens|chars], verifier:<regex:…|keywords:…|json-schema:…|names-again|quoted-speech|module#export>, module:<path>#<export>',
    );
    expect((err as Error).message).not.toContain('\n');
  });

  it('malformed specs are usage errors too', async () => {
    await expect(parseReward('keyword:')).rejects.toThrow(/needs a word after "keyword:"/);
    await expect(parseReward('vader:strict')).rejects.toThrow(UnknownRewardError);
    await expect(parseReward('afinn:mean')).rejects.toThrow(/unknown afinn mode/);
    await expect(parseReward('verifier:')).rejects.toThrow(UnknownRewardError);
    await expect(parseReward('module:#f')).rejects.toThrow(/names no module/);
  });

  it('builds the lexicon rewards', async () => {
    expect((await parseReward('vader')).kind).toBe('vader');
    expect((await parseReward('afinn:sum')).spec).toBe('afinn:sum');
    expect([...(await (await parseReward('keyword:dog')).score(items('dog Dog dogs')))]).toEqual([2]);
  });
});

describe('verifier: and module: rewards', () => {
  const ctx = () => ({ cwd: dir.path });

  it('a verifier returns 0/1 from booleans or 0/1 numbers', async () => {
    const v = await parseReward('verifier:./judges.mjs#hasHappy', ctx());
    expect([...(await v.score(items('so happy', 'sad')))]).toEqual([1, 0]);
    const n = await parseReward('verifier:./judges.mjs#asNumber', ctx());
    expect([...(await n.score(items('a', 'bb')))]).toEqual([1, 0]);
  });

  it('a verifier that returns something else is reported with the candidate', async () => {
    const v = await parseReward('verifier:./judges.mjs#half', ctx());
    const err = await v.score(items('a')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RewardValueError);
    expect((err as Error).message).toMatch(/verifier returned 0.5 for candidate 0; expected true\/false or 0\/1/);
  });

  it('a throwing verifier gives a typed error naming the module, export and candidate', async () => {
    const v = await parseReward('verifier:./judges.mjs#throwsOn', ctx());
    const err = await v.score(items('fine', 'boom')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RewardModuleError);
    expect((err as RewardModuleError).module).toBe('./judges.mjs');
    expect((err as RewardModuleError).exportName).toBe('throwsOn');
    expect((err as RewardModuleError).index).toBe(1);
    expect((err as Error).message).toBe('verifier:./judges.mjs#throwsOn: ./judges.mjs#throwsOn threw on candidate 1: kaboom');
  });

  it('a module that throws while loading, a missing file or export are typed errors', async () => {
    await expect(parseReward('verifier:./broken.mjs#f', ctx())).rejects.toThrow(/cannot load \.\/broken\.mjs#f: module init failed/);
    await expect(parseReward('verifier:./broken.mjs#f', ctx())).rejects.toBeInstanceOf(RewardModuleError);
    await expect(parseReward('module:./nope.mjs#f', ctx())).rejects.toThrow(/file not found/);
    await expect(parseReward('module:./judges.mjs#missing', ctx())).rejects.toThrow(/has no export "missing" \(exports: .*hasHappy/);
    await expect(parseReward('module:./judges.mjs#notAFunction', ctx())).rejects.toThrow(/is a number, not a function/);
    await expect(parseReward('module:no-such-package-xyz#f', ctx())).rejects.toBeInstanceOf(RewardModuleError);
  });

  it('a module reward passes the whole item and awaits promises', async () => {
    const m = await parseReward('module:./judges.mjs#lengthReward', ctx());
    expect([...(await m.score(items('abc', '')))]).toEqual([3.01, 0.01]);
    const d = await parseReward(`module:${join(dir.path, 'judges.mjs')}`, ctx()); // default export, absolute path
    expect([...(await d.score(items('one two three')))]).toEqual([3]);
  });

  it('NaN and non-numbers from a module are reported with the candidate', async () => {
    const m = await parseReward('module:./judges.mjs#nanFor', ctx());
    await expect(m.score(items('ok', 'x'))).rejects.toThrow('reward "module:./judges.mjs#nanFor" returned NaN for candidate 1 ("x")');
    const t = await parseReward('module:./judges.mjs#text', ctx());
    await expect(t.score(items('ok'))).rejects.toThrow(/returned string for candidate 0; expected a number/);
  });
});

describe('probe: rewards', () => {
  const site = 'blocks.1.hook_resid_post';
  const acts = (v: number[]) => ({ [site]: Float32Array.from(v) });

  it('projects pooled activations on the unit direction, plus the bias', async () => {
    const p = await parseReward('probe:probe.json', { cwd: dir.path });
    expect(p.sites).toEqual([site]);
    const r = await p.score([
      { prompt: 'P', response: 'a', activations: acts([3, 4, 100]) },
      { prompt: 'P', response: 'b', activations: acts([-4, 3, 0]) },
    ]);
    // direction (3,4,0)/5: (9 + 16)/5 + 0.5 = 5.5; (−12 + 12)/5 + 0.5 = 0.5
    expect(r[0]).toBeCloseTo(5.5, 6);
    expect(r[1]).toBeCloseTo(0.5, 6);
  });

  it('uses the loader hook when given', async () => {
    const seen: string[] = [];
    const loadVector = (path: string): ProbeDirection => { seen.push(path); return { site, direction: Float32Array.from([0, 2]) }; };
    const p = await parseReward('probe:vectors/happy.vec', { cwd: dir.path, loadVector });
    expect(seen).toEqual([join(dir.path, 'vectors/happy.vec')]);
    expect([...(await p.score([{ prompt: 'P', response: 'a', activations: acts([5, -1.5]) }]))]).toEqual([-1.5]);
  });

  it('fails clearly without activations or model, on a dimension mismatch and on bad files', async () => {
    const p = await parseReward('probe:probe.json', { cwd: dir.path });
    await expect(p.score(items('a'))).rejects.toThrow(InvalidArgumentError);
    await expect(p.score(items('a'))).rejects.toThrow(/candidate 0 has no activations at blocks.1.hook_resid_post/);
    await expect(p.score([{ prompt: 'P', response: 'a', activations: acts([1, 2]) }])).rejects.toThrow(ShapeMismatchError);
    await expect(parseReward('probe:missing.json', { cwd: dir.path })).rejects.toThrow(FileNotFoundError);
    await expect(parseReward('probe:bad-probe.json', { cwd: dir.path })).rejects.toThrow(InvalidDataError);
    await expect(parseReward('probe:x', { loadVector: () => ({ site, direction: new Float32Array(3) }) })).rejects.toThrow(/norm 0/);
  });
});
