/** Pattern clustering, statistics, selectors and verifiers on data with known answers; the CLI's refusals. */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { registerPatterns } from '../../src/cli/commands/patterns.js';
import { InvalidArgumentError, UsageError } from '../../src/errors.js';
import { Rng } from '../../src/math/rng.js';
import { assignToCentroids, clusterPoints, silhouette } from '../../src/patterns/cluster.js';
import { bonVerifier, confidence, patternStats, patternWeighted, poolMass, random, wilson, type PatternCandidate } from '../../src/patterns/stats.js';
import { RewardModuleError, RewardValueError, UnknownRewardError } from '../../src/errors.js';
import { parseReward } from '../../src/rewards/parse.js';
import { promptCharacter } from '../../src/rewards/kinds/verifiers.js';
import { runCommands } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';

const work = tempDir('patterns-');
afterAll(() => work.cleanup());

/** Three blobs on different axes of R^6, `per` points each, small noise. */
function blobs(per: number, seed = 1): { points: Float32Array[]; truth: number[] } {
  const rng = new Rng(seed);
  const points: Float32Array[] = [];
  const truth: number[] = [];
  for (let c = 0; c < 3; c++) for (let i = 0; i < per; i++) {
    const p = Float32Array.from({ length: 6 }, () => (rng.next() - 0.5) * 0.2);
    p[c] = p[c]! + 5;
    points.push(p);
    truth.push(c);
  }
  return { points, truth };
}

describe('clustering into patterns', () => {
  it('recovers three separated blobs with k-means and Ward, and auto picks k = 3 by silhouette', () => {
    const { points, truth } = blobs(10);
    for (const method of ['kmeans', 'agglomerative'] as const) {
      const c = clusterPoints(points, { k: 'auto', method, seed: 3 });
      expect(c.k).toBe(3);
      expect(Array.from(c.labels)).toEqual(truth); // canonical labels: by first appearance
      expect(c.silhouette).toBeGreaterThan(0.9);
      expect(c.tried!.find((t) => t.k === 3)!.silhouette).toBe(Math.max(...c.tried!.map((t) => t.silhouette)));
      expect(Array.from(assignToCentroids([points[25]!, points[0]!], c.centroids))).toEqual([2, 0]);
    }
  });

  it('silhouette by hand: two points per cluster on a line', () => {
    // Points 0, 1 | 10, 11: a = 1, b = mean distance to the other cluster.
    const pts = [[0], [1], [10], [11]];
    const s0 = (10.5 - 1) / 10.5;
    const s1 = (9.5 - 1) / 9.5;
    expect(silhouette(pts, [0, 0, 1, 1], 2)).toBeCloseTo((s0 + s1 + s1 + s0) / 4, 12);
  });

  it('refuses N < clusters and auto on fewer than 3 points', () => {
    const { points } = blobs(1);
    expect(() => clusterPoints(points, { k: 4 })).toThrow(/N < clusters/);
    expect(() => clusterPoints(points.slice(0, 2), { k: 'auto' })).toThrow(InvalidArgumentError);
  });
});

const cand = (pattern: number, success: 0 | 1, logprob: number, meanLogprob = logprob / 10): PatternCandidate => ({ pattern, success, logprob, meanLogprob });

describe('pattern statistics and selectors', () => {
  it('pools success over prompts, with Wilson intervals and π_ref mass from log-probs', () => {
    const pools = [
      [cand(0, 1, Math.log(0.5)), cand(0, 1, Math.log(0.25)), cand(1, 0, Math.log(0.25))],
      [cand(0, 0, Math.log(0.2)), cand(1, 0, Math.log(0.8))],
    ];
    const s = patternStats(pools, 2);
    expect(s[0]!.size).toBe(3);
    expect(s[0]!.success).toBeCloseTo(2 / 3, 12);
    expect(s[1]!.success).toBe(0);
    expect(s[0]!.share).toBeCloseTo(3 / 5, 12);
    // Mass: prompt 1 gives pattern 0 0.75, prompt 2 gives it 0.2.
    expect(s[0]!.refMass).toBeCloseTo((0.75 + 0.2) / 2, 12);
    expect(s[1]!.refMass).toBeCloseTo((0.25 + 0.8) / 2, 12);
    // Wilson for 2/3 at 95%.
    const [lo, hi] = wilson(2, 3);
    expect(lo).toBeCloseTo(0.2077, 3);
    expect(hi).toBeCloseTo(0.9385, 3);
    expect(s[0]!.ci).toEqual([lo, hi]);
  });

  it('selectors against hand-computed expectations', () => {
    // Pattern 0 is likely but fails; pattern 1 is rare and succeeds half the time.
    const pool = [cand(0, 0, Math.log(0.6), -0.1), cand(0, 0, Math.log(0.2), -0.2), cand(1, 1, Math.log(0.1), -0.9), cand(1, 0, Math.log(0.1), -1)];
    const p = [0.1, 0.6];
    expect(random(pool, p, 1)).toBe(0.25);
    expect(bonVerifier(pool, p, 1)).toBe(1);
    expect(confidence(pool, p, 1)).toBe(0); // the most confident candidate is in the failing pattern
    // β = 0.5: w0 ∝ 0.8·e^{0.2}, w1 ∝ 0.2·e^{1.2}; success within: 0 and 0.5.
    const w0 = 0.8 * Math.exp(0.2);
    const w1 = 0.2 * Math.exp(1.2);
    expect(patternWeighted(pool, p, 0.5)).toBeCloseTo((w1 / (w0 + w1)) * 0.5, 12);
    expect(patternWeighted(pool, p, 0)).toBe(0.5);
    // Large β: π_ref alone.
    expect(patternWeighted(pool, p, 1e9)).toBeCloseTo(0.2 * 0.5, 6);
    expect(Array.from(poolMass(pool, 2)).map((x) => Number(x.toFixed(12)))).toEqual([0.8, 0.2]);
    expect(() => patternWeighted(pool, p, -1)).toThrow(InvalidArgumentError);
  });
});

describe('verifiers', () => {
  const item = (response: string, prompt = 'Once upon a time, there was a girl named Lily. ') => ({ prompt, response });
  it('regex, keywords, JSON schema, quoted speech and names-again', async () => {
    const score = async (spec: string, items: { prompt: string; response: string; finishReason?: string }[]) => Array.from(await (await parseReward(spec, { cwd: work.path })).score(items));
    expect(await score('verifier:regex:^Lily\\b/i', [item('lily ran.'), item('Tom ran.')])).toEqual([1, 0]);
    expect(await score('verifier:keywords:happy,smiled', [item('She smiled.'), item('unhappy day')])).toEqual([1, 0]);
    expect(await score('verifier:keywords:happy,smiled@all', [item('She smiled, happy.'), item('She smiled.')])).toEqual([1, 0]);
    writeFileSync(join(work.path, 'schema.json'), JSON.stringify({ type: 'object', required: ['name'], properties: { name: { type: 'string' } } }));
    expect(await score('verifier:json-schema:schema.json', [item('{"name": "Lily"}'), item('{"name": 3}'), item('not json')])).toEqual([1, 0, 0]);
    expect(await score('verifier:quoted-speech', [item('She said, "Hello!"'), item('She said hello.')])).toEqual([1, 0]);
    expect(await score('verifier:names-again', [item('Lily went out.'), item('She went out.')])).toEqual([1, 0]);
    expect(await score('verifier:names-again:48:eos', [{ ...item('Lily went out.'), finishReason: 'length' }, { ...item('Lily went out.'), finishReason: 'eos' }])).toEqual([0, 1]);
    expect(promptCharacter('One day, Nora went to the market. ')).toBe('Nora');
    expect(promptCharacter('A little bird sat on the fence. ')).toBeUndefined();
    await expect(parseReward('verifier:regex:(', {})).rejects.toThrow(UnknownRewardError);
  });

  it('a user module that throws or returns a non-boolean is a typed error', async () => {
    const mod = join(work.path, 'verify.mjs');
    writeFileSync(mod, 'export const boom = () => { throw new Error("bad input"); };\nexport const maybe = () => "yes";\nexport default (item) => item.response.includes("Lily");\n');
    const items = [item('Lily')];
    expect(Array.from(await (await parseReward(`verifier:${mod}`)).score(items))).toEqual([1]);
    await expect((await parseReward(`verifier:${mod}#boom`)).score(items)).rejects.toThrow(RewardModuleError);
    await expect((await parseReward(`verifier:${mod}#maybe`)).score(items)).rejects.toThrow(RewardValueError);
  });
});

describe('onnx-steer patterns: bad input', () => {
  const cli = (...args: string[]) => runCommands([registerPatterns], args);
  it('refuses N < clusters, a bad --clusters and a missing verifier before any model work, and writes nothing', async () => {
    const prompts = join(work.path, 'p.jsonl');
    writeFileSync(prompts, '{"prompt": "Tom had a ball. "}\n{"prompt": "Mia had a cat. "}\n');
    const out = join(work.path, 'report');
    await expect(cli('patterns', '--prompts', prompts, '--n', '4', '--clusters', '5', '--verifier', 'quoted-speech', '-o', out)).rejects.toThrow(/--clusters 5 is more than the 4 pooled training candidates \(1 training prompts × --n 4\)/);
    await expect(cli('patterns', '--prompts', prompts, '--clusters', 'many', '--verifier', 'quoted-speech', '-o', out)).rejects.toThrow(UsageError);
    await expect(cli('patterns', '--prompts', prompts, '-o', out)).rejects.toThrow(/--verifier/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('onnx-steer patterns on the default model', () => {
  const cli = (...args: string[]) => runCommands([registerPatterns], args);
  it('writes a report with the documented JSON names; a verifier that throws leaves no report', async () => {
    const { defaultDir } = await import('../helpers/models.js');
    const model = await defaultDir();
    const prompts = join(work.path, 'p4.jsonl');
    writeFileSync(prompts, ['Once upon a time, there was a boy named Jake. ', 'One day, Sara went to see her friend. ', 'Peter had a new hat. ', 'Molly found a box under her bed. '].map((p) => JSON.stringify({ prompt: p })).join('\n'));
    const out = join(work.path, 'run');
    const doc = JSON.parse(await cli('patterns', '--model', model, '--threads', '1', '--prompts', prompts, '--n', '4', '--clusters', '2', '--verifier', 'names-again', '--max-new-tokens', '16', '--strengths', '1', '--json', '-o', out)) as {
      patterns: { id: number; size: number; refMass: number; success: number; ci: [number, number]; examples: string[] }[];
      selectors: Record<'patternWeighted' | 'bonVerifier' | 'confidence' | 'random', { success: number; ci: [number, number] }>;
    };
    expect(doc.patterns).toHaveLength(2);
    expect(doc.patterns.reduce((a, p) => a + p.size, 0)).toBe(8);
    expect(doc.patterns.reduce((a, p) => a + p.refMass, 0)).toBeCloseTo(1, 9);
    for (const p of doc.patterns) expect(p.ci[0]).toBeLessThanOrEqual(p.success);
    expect(Object.keys(doc.selectors).sort()).toEqual(['bonVerifier', 'confidence', 'patternWeighted', 'random']);
    expect(doc.selectors.bonVerifier.success).toBeGreaterThanOrEqual(doc.selectors.random.success);
    expect(existsSync(join(out, 'report.json'))).toBe(true);
    const mod = join(work.path, 'boom.mjs');
    writeFileSync(mod, 'export default () => { throw new Error("no"); };\n');
    const bad = join(work.path, 'bad');
    await expect(cli('patterns', '--model', model, '--threads', '1', '--prompts', prompts, '--n', '2', '--clusters', '2', '--verifier', mod, '--max-new-tokens', '8', '-o', bad)).rejects.toThrow(RewardModuleError);
    // No report; the draws that arrived stay in the run's journal, so a rerun resumes.
    expect(existsSync(join(bad, 'report.json'))).toBe(false);
    expect(existsSync(join(bad, 'report.md'))).toBe(false);
  });
});
