/** `onnx-steer bon` and `onnx-steer ab` end to end: JSON output, reports, exit codes and one-line errors. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDir } from '../helpers/models.js';
import { REPO, tempDir } from '../helpers/paths.js';
import { withoutProgress } from '../helpers/progress.js';
import { spawnCli } from '../helpers/spawn.js';

const run = (args: string[]) => spawnCli(args);

let modelDir: string;
const tmp = tempDir('onnx-steer-ab-cli-');
const JOY = join(REPO, 'vectors', 'tinystories-656k', 'joy.json');
beforeAll(async () => { modelDir = await defaultDir(); }, 300_000);
afterAll(() => tmp.cleanup());

interface BonJson {
  method: string; beta: number | null; chosen: number;
  candidates: { index: number; text: string; reward: number; logprob: number; refLogprob: number; objective: number; meanUtility: number }[];
  utilityMatrix: number[][];
}

describe('onnx-steer bon', () => {
  it('prints every candidate, the utility matrix, the objective and the choice with --json', async () => {
    const r = await run(['bon', '--model', modelDir, '--prompt', 'Finn had a green toy truck. ', '--n', '4', '--reward', 'afinn', '--beta', '3',
      '--vector', JOY, '--strength', '1', '--max-new-tokens', '10', '--seed', '2', '--json', '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as BonJson;
    expect(doc.method).toBe('mbr-bon');
    expect(doc.candidates).toHaveLength(4);
    expect(doc.utilityMatrix).toHaveLength(4);
    for (const c of doc.candidates) {
      expect(typeof c.text).toBe('string');
      expect(Number.isFinite(c.logprob) && Number.isFinite(c.refLogprob)).toBe(true);
      expect(c.objective).toBeCloseTo(c.reward + 3 * (doc.utilityMatrix[c.index] as number[]).reduce((a, b) => a + b, 0) / 4, 9);
    }
    const best = Math.max(...doc.candidates.map((c) => c.objective));
    expect(doc.candidates.findIndex((c) => c.objective === best)).toBe(doc.chosen);
  });

  it('exits 2 with one line on usage errors and 1 on runtime errors', async () => {
    const verifier = join(tmp.path, 'throws.mjs');
    writeFileSync(verifier, 'export function check() { throw new Error("verifier exploded"); }\n');
    const base = ['bon', '--model', modelDir, '--prompt', 'Once upon a time ', '--n', '2', '--max-new-tokens', '4'];
    const cases: [string[], number, RegExp][] = [
      [[...base.slice(0, 5), '--n', '0', '--reward', 'afinn'], 2, /--n must be an integer in \[1, 4096\], got "0"/],
      [[...base, '--reward', 'afinn', '--beta', '-1'], 2, /--beta must be a number ≥ 0, got "-1"/],
      [[...base, '--reward', 'sentiment-magic'], 2, /unknown reward "sentiment-magic"/],
      [[...base, '--reward', 'afinn', '--utility', 'bleu'], 2, /unknown utility "bleu"/],
      [[...base, '--reward', `verifier:${verifier}#check`], 1, /threw on candidate 0: verifier exploded/],
    ];
    for (const [args, code, message] of cases) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(code);
      // bon's progress lines come before a runtime error (the verifier throws after sampling); the error is one line
      const error = withoutProgress(r.stderr, 'bon').trim();
      expect(error.split('\n'), r.stderr).toHaveLength(1);
      expect(error).toMatch(/^onnx-steer: /);
      expect(error).toMatch(message);
    }
  });
});

describe('onnx-steer ab', () => {
  it('writes results.json, report.md, report.html and charts, with only progress on stderr', async () => {
    const prompts = join(tmp.path, 'p.jsonl');
    writeFileSync(prompts, '{"prompt": "Finn had a green toy truck. "}\n{"prompt": "Daisy got a new pair of shoes. "}\n');
    const out = join(tmp.path, 'report');
    const args = ['ab', '--model', modelDir, '--prompts', prompts, '--vector', JOY, '--strengths', '1.5', '--n', '2,3', '--reward', 'afinn', '--gold', 'vader',
      '--beta', '0.5', '--max-new-tokens', '8', '--kl-resamples', '50', '-o', out, '--json'];
    const r = await run(args);
    expect(withoutProgress(r.stderr, 'ab').trim(), r.stderr).toBe('');
    expect(r.stderr).toContain('ab: generating 2/2 prompts (100%)\n');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { arms: { arm: { id: string } }[]; beta: { value: number; source: string } };
    expect(summary.arms.map((a) => a.arm.id)).toEqual(['baseline', 'steer@1.5', 'bon(2)', 'bon(3)', 'mbr-bon(2, β=0.5)', 'mbr-bon(3, β=0.5)', 'steer@1.5+mbr-bon(3, β=0.5)']);
    expect(summary.beta).toEqual({ value: 0.5, source: 'given' });
    for (const f of ['results.json', 'report.md', 'report.html', 'charts/gold-vs-kl.svg', 'charts/proxy-vs-gold.svg', 'charts/reward-vs-n.svg']) expect(existsSync(join(out, f)), f).toBe(true);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('| baseline |');
    const again = await run(args);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/output already exists/);
  });

  it('rejects empty and malformed prompt files, and a gold equal to the proxy, with one line', async () => {
    const empty = join(tmp.path, 'empty.jsonl');
    writeFileSync(empty, '\n');
    const bad = join(tmp.path, 'bad.jsonl');
    writeFileSync(bad, '{"prompt": "a "}\n{"prompt": "b "\n');
    const base = ['ab', '--model', modelDir, '--reward', 'afinn', '--gold', 'vader', '--beta', '1', '-o', join(tmp.path, 'x')];
    const cases: [string[], number, RegExp][] = [
      [[...base, '--prompts', empty], 1, /no prompts \(the file is empty\)/],
      [[...base, '--prompts', bad], 1, /bad\.jsonl:2: invalid JSON/],
      [[...base.slice(0, 5), '--gold', 'afinn', '--beta', '1', '-o', join(tmp.path, 'x'), '--prompts', bad], 2, /--gold must differ from --reward/],
      [[...base, '--prompts', bad, '--n', '4,0'], 2, /--n entries must be an integer in \[1, 4096\], got "0"/],
    ];
    for (const [args, code, message] of cases) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });
});
