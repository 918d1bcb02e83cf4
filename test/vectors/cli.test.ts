/** `onnx-steer extract`, `sweep`, `demo` and the steering flags of `generate`. */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerDemo } from '../../src/cli/commands/demo.js';
import { registerExtract } from '../../src/cli/commands/extract.js';
import { registerGenerate } from '../../src/cli/commands/generate.js';
import { parsePositions, parseVectorArg } from '../../src/cli/commands/steering-options.js';
import { registerSweep } from '../../src/cli/commands/sweep.js';
import { InvalidSpecError, ModelMismatchError, OutputExistsError, UsageError } from '../../src/errors.js';
import { HookedModel } from '../../src/model/hooked-model.js';
import { extractVector } from '../../src/vectors/extract.js';
import { loadPairs } from '../../src/pairs/pairs.js';
import type { SweepReport } from '../../src/vectors/sweep.js';
import { SteeringVector } from '../../src/vectors/vector.js';
import { defaultDir } from '../helpers/models.js';
import { runCommands } from '../helpers/cli.js';
import { REPO, tempDir } from '../helpers/paths.js';

const cli = (...args: string[]): Promise<string> => runCommands([registerExtract, registerSweep, registerGenerate, registerDemo], args);

const JOY = join(REPO, 'vectors', 'tinystories-656k', 'joy.pairs.jsonl');
const work = tempDir('vectors-cli-');
let modelDir: string;
let pairs: string;
beforeAll(async () => {
  modelDir = await defaultDir();
  // A 16-pair slice of the shipped joy pairs keeps these runs short.
  pairs = join(work.path, 'joy16.jsonl');
  writeFileSync(pairs, `${readFileSync(JOY, 'utf8').split('\n').slice(0, 16).join('\n')}\n`);
}, 300_000);
afterAll(() => work.cleanup());

describe('onnx-steer extract', () => {
  it('writes the vector the library extracts, and refuses to overwrite without --force', async () => {
    const out = join(work.path, 'joy.json');
    const doc = JSON.parse(await cli('extract', '--model', modelDir, '--pairs', pairs, '--sites', 'blocks.0.hook_resid_post', '--read', 'mean', '--no-recommend', '--name', 'joy', '-o', out, '--json')) as { output: string; vector: { sites: { name: string; direction?: string }[] } };
    expect(doc.output).toBe(out);
    expect(doc.vector.sites[0]!.direction).toBeUndefined();
    const saved = SteeringVector.load(out);
    const model = await HookedModel.load(modelDir, { intraOpNumThreads: 1 });
    try {
      const { vector } = await extractVector(model, loadPairs(pairs), { sites: ['blocks.0.hook_resid_post'], read: { kind: 'mean' }, recommend: false });
      expect(Array.from(saved.direction('blocks.0.hook_resid_post'))).toEqual(Array.from(vector.direction('blocks.0.hook_resid_post')));
    } finally {
      await model.dispose();
    }
    await expect(cli('extract', '--model', modelDir, '--pairs', pairs, '--sites', 'blocks.0.hook_resid_post', '-o', out)).rejects.toThrow(OutputExistsError);
    await expect(cli('extract', '--model', modelDir, '--pairs', pairs, '--read', 'middle', '-o', join(work.path, 'x.json'))).rejects.toThrow(InvalidSpecError);
  });

  it('exits 1 with a one-line message naming the bad line', () => {
    const bad = join(work.path, 'bad.jsonl');
    writeFileSync(bad, '{"chosen": "a", "rejected": "b"}\n{"chosen": "a"\n');
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'src/cli/main.ts'), 'extract', '--model', modelDir, '--pairs', bad, '-o', join(work.path, 'bad.json')], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('bad.jsonl:2: not valid JSON');
  });
});

describe('onnx-steer sweep', () => {
  it('prints a report with a recommendation', async () => {
    const out = join(work.path, 'sweep.json');
    const report = JSON.parse(await cli('sweep', '--model', modelDir, '--pairs', pairs, '--sites', 'blocks.0.hook_resid_post,blocks.1.hook_resid_post', '--fractions', '0.1,0.25', '--folds', '4', '-o', out, '--json')) as SweepReport;
    expect(report.sites).toHaveLength(2);
    expect(report.sites[0]!.curve).toHaveLength(5);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(report);
    const text = await cli('sweep', '--model', modelDir, '--pairs', pairs, '--sites', 'blocks.0.hook_resid_post', '--fractions', '0.1', '--folds', '4');
    expect(text).toContain('recommended: blocks.0.hook_resid_post');
  });
});

describe('onnx-steer generate with vectors', () => {
  it('steers with path=strength exactly like the library does', async () => {
    const vec = join(REPO, 'vectors', 'tinystories-656k', 'joy.json');
    const prompt = 'Once upon a time, there was a cat. ';
    const doc = JSON.parse(await cli('generate', '--model', modelDir, '--prompt', prompt, '--greedy', '--max-new-tokens', '16', '--vector', `${vec}=-2`, '--json')) as { candidates: { ids: number[] }[]; steering: string[] };
    expect(doc.steering).toEqual(['joy × -2 at blocks.0.hook_resid_post (add, all positions)']);
    const model = await HookedModel.load(modelDir, { intraOpNumThreads: 1 });
    try {
      const joy = SteeringVector.load(vec, { model });
      const lib = await model.generate(prompt, { temperature: 0, maxNewTokens: 16, steering: joy.toPlan({ strength: -2 }) });
      const plain = await model.generate(prompt, { temperature: 0, maxNewTokens: 16 });
      expect(doc.candidates[0]!.ids).toEqual(lib.rows[0]!.ids);
      expect(doc.candidates[0]!.ids).not.toEqual(plain.rows[0]!.ids);
    } finally {
      await model.dispose();
    }
    await expect(cli('generate', '--model', modelDir, '--prompt', prompt, '--vector', vec)).rejects.toThrow(/give a strength/);
    await expect(cli('generate', '--model', modelDir, '--prompt', prompt, '--strength', '2')).rejects.toThrow(/need --vector/);
    const foreign = join(work.path, 'foreign.json');
    const joy = SteeringVector.load(vec);
    SteeringVector.create({ 'blocks.0.hook_resid_post': joy.direction('blocks.0.hook_resid_post') }, { model: { ...joy.meta.model, fingerprint: 'f'.repeat(64) }, method: 'mean-diff' }).save(foreign);
    await expect(cli('generate', '--model', modelDir, '--prompt', prompt, '--vector', `${foreign}=1`)).rejects.toThrow(ModelMismatchError);
  });

  it('parses vector arguments and positions', () => {
    expect(parseVectorArg('a/b.json=-2.5')).toEqual({ path: 'a/b.json', strength: -2.5 });
    expect(parseVectorArg('a=b.json')).toEqual({ path: 'a=b.json' });
    expect(parsePositions('generated')).toBe('generated');
    expect(parsePositions('3:7')).toEqual({ start: 3, end: 7 });
    expect(parsePositions('3:')).toEqual({ start: 3 });
    expect(() => parsePositions('7:3')).toThrow(UsageError);
  });
});

describe('onnx-steer demo', () => {
  it('extracts joy, matches the shipped vector and judges both directions', async () => {
    const doc = JSON.parse(await cli('demo', '--model', modelDir, '--prompts', '2', '--samples', '1', '--max-new-tokens', '12', '--json')) as {
      vector: { shippedCosine: number; pairs: number };
      conditions: { label: string; strength: number; meanCompound: number; samples: { texts: string[]; compound: number[] }[] }[];
    };
    expect(doc.vector.pairs).toBeGreaterThanOrEqual(64);
    expect(doc.vector.shippedCosine).toBeCloseTo(1, 6);
    expect(doc.conditions.map((c) => c.label)).toEqual(['unsteered', 'toward joy', 'toward sadness']);
    expect(doc.conditions[1]!.strength).toBe(-doc.conditions[2]!.strength);
    for (const c of doc.conditions) expect(c.samples.flatMap((s) => s.compound).every((x) => x >= -1 && x <= 1)).toBe(true);
  });
});
