/** `onnx-steer study` end to end at a tiny size: the report files, and results.json agreeing with its own pools. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDir } from '../helpers/models.js';
import { REPO, tempDir } from '../helpers/paths.js';
import { withoutProgress } from '../helpers/progress.js';
import { spawnCli } from '../helpers/spawn.js';

const tmp = tempDir('onnx-steer-study-cli-');
let modelDir: string;
beforeAll(async () => { modelDir = await defaultDir(); }, 300_000);
afterAll(() => tmp.cleanup());

interface Cand { ids: number[]; rewards: Record<string, number | null>; refLogprob: number; steeredLogprob?: number }
interface Doc {
  format: string;
  config: { ns: number[]; nMax: number; proxies: { spec: string }[]; gold: string };
  points: { proxy: string; policy: string; selector: string; n: number; chosen: (number | null)[]; gold: { mean: number }; calibrated: boolean; kl: { plugin: number | null; analytic: number | null } | null }[];
  verdicts: { proxy: string; policy: string; text: string; outcome: string }[];
  correlations: { proxy: string; correlation: { pearson: number; spearman: number } | null }[];
  pools: { reference: { candidates: Cand[]; utility: number[][] }[]; steered: { candidates: Cand[] }[] | null };
  timing: { wallMs: number; cpuUserMs: number; loadAverageStart: number[] };
}

describe('onnx-steer study', () => {
  it('writes results.json, report.md, report.html and charts; BoN picks and gold are recomputable from the pools', async () => {
    writeFileSync(join(tmp.path, 'p.jsonl'), '{"prompt": "Finn had a green toy truck. "}\n{"prompt": "Jack had a blue boat. "}\n{"prompt": "Mia had a big red ball. "}\n');
    writeFileSync(join(tmp.path, 'd.jsonl'), '{"prompt": "There was an old cat who slept by the fire. "}\n');
    const out = join(tmp.path, 'out');
    const r = await spawnCli(['study', '--model', modelDir, '--prompts', join(tmp.path, 'p.jsonl'),
      '--dev-prompts', join(tmp.path, 'd.jsonl'), '--n-max', '4', '--max-new-tokens', '6', '--proxy', 'strong=afinn', '--proxy', 'misaligned=length',
      '--vector', join(REPO, 'vectors', 'tinystories-656k', 'joy.json'), '--beta-grid', '0,1', '--kl-resamples', '20', '--threads', '1', '-o', out]);
    expect(withoutProgress(r.stderr, 'study').trim(), r.stderr).toBe('');
    expect(r.stderr).toMatch(/^study: sampling 3\/3 prompts \(100%\)$/m);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\| strong: `afinn` \| reference \|/);
    for (const f of ['results.json', 'report.md', 'report.html', 'charts/gold-vs-n.svg', 'charts/gold-vs-kl.svg', 'charts/gold-vs-beta.svg']) expect(existsSync(join(out, f))).toBe(true);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('<svg');
    const doc = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Doc;
    expect(doc.format).toBe('onnx-steer.overoptimization-study');
    expect(doc.config.ns).toEqual([1, 2, 4]);
    expect(doc.verdicts.map((v) => `${v.proxy}/${v.policy}`)).toEqual(['afinn/reference', 'afinn/steered', 'length/reference', 'length/steered']);
    expect(doc.pools.steered?.[0]?.candidates[0]?.steeredLogprob).toBeTypeOf('number');
    // every calibrated BoN point: argmax of the proxy over the first N candidates (ties to the lowest index), judged by gold
    const bon = doc.points.filter((p) => p.selector === 'bon' && p.policy === 'reference');
    expect(bon).toHaveLength(2 * 3);
    for (const p of bon) {
      let gold = 0;
      p.chosen.forEach((c, k) => {
        const cands = doc.pools.reference[k]?.candidates.slice(0, p.n) ?? [];
        let best = 0;
        cands.forEach((x, i) => { if ((x.rewards[p.proxy] as number) > (cands[best]?.rewards[p.proxy] as number)) best = i; });
        expect(c).toBe(best);
        gold += cands[best]?.rewards[doc.config.gold] as number;
      });
      expect(p.gold.mean).toBeCloseTo(gold / p.chosen.length, 12);
      expect(p.kl?.analytic).toBeCloseTo(Math.log(p.n) - (p.n - 1) / p.n, 12);
    }
    expect(doc.timing.wallMs).toBeGreaterThan(0);
    expect(doc.timing.loadAverageStart).toHaveLength(3);
  }, 180_000);
});
