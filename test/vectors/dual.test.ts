/**
 * RAHF-Dual on the shared SFT pair (joy-tuned and sad-tuned copies of the
 * default model): the vector against a by-hand mean of captured per-token
 * differences, binding to the target, and the refusals.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerExtract } from '../../src/cli/commands/extract.js';
import { buildModel } from '../../src/builder/index.js';
import { InvalidArgumentError, ModelMismatchError, UsageError } from '../../src/errors.js';
import { cachedCheckpointBuild } from '../../src/model/checkpoint-cache.js';
import { HookedModel } from '../../src/model/hooked-model.js';
import { RAHF_DUAL, extractDualVector } from '../../src/vectors/dual.js';
import { encodePairs } from '../../src/pairs/encode.js';
import { loadPairs, type PairDataset } from '../../src/pairs/pairs.js';
import { SteeringVector } from '../../src/vectors/vector.js';
import { runCommands } from '../helpers/cli.js';
import { loadDefault } from '../helpers/models.js';
import { REPO, SHARED, tempDir } from '../helpers/paths.js';

const JOY_SFT = join(SHARED, 'models', 'tinystories-656k-sft-joy');
const SAD_SFT = join(SHARED, 'models', 'tinystories-656k-sft-sad');
const SITES = ['blocks.0.hook_resid_post', 'blocks.1.hook_resid_mid'];
const H = 128;
const cli = (...args: string[]): Promise<string> => runCommands([registerExtract], args);

const work = tempDir('dual-');
let joy: HookedModel;
let sad: HookedModel;
let base: HookedModel;
let joyDir: string;
let sadDir: string;
let dataset: PairDataset;
let pairsFile: string;

beforeAll(async () => {
  joyDir = await cachedCheckpointBuild(JOY_SFT);
  sadDir = await cachedCheckpointBuild(SAD_SFT);
  joy = await HookedModel.load(joyDir, { intraOpNumThreads: 1 });
  sad = await HookedModel.load(sadDir, { intraOpNumThreads: 1 });
  base = await loadDefault();
  pairsFile = join(work.path, 'pairs.jsonl');
  const lines = readFileSync(join(REPO, 'vectors', 'tinystories-656k', 'joy.pairs.jsonl'), 'utf8').split('\n').slice(0, 6);
  writeFileSync(pairsFile, `${lines.join('\n')}\n`);
  dataset = loadPairs(pairsFile);
}, 300_000);
afterAll(async () => {
  await Promise.all([joy?.dispose(), sad?.dispose(), base?.dispose()]);
  work.cleanup();
});

/** Σ over pairs, both responses, first K response tokens of (h_joy − h_sad), divided by the token count, in float64. */
async function byHand(site: string, K: number): Promise<{ mean: Float64Array; count: number }> {
  const enc = encodePairs(base, dataset);
  const seqs = enc.flatMap((e) => [e.pos, e.neg]);
  const a = await joy.capture(seqs.map((s) => s.ids), [site], { positions: 'all' });
  const b = await sad.capture(seqs.map((s) => s.ids), [site], { positions: 'all' });
  const mean = new Float64Array(H);
  let count = 0;
  seqs.forEach((s, i) => {
    const end = Math.min(s.ids.length, s.responseStart + K);
    for (let t = s.responseStart; t < end; t++) {
      const x = a[i]![site]!.data;
      const y = b[i]![site]!.data;
      for (let h = 0; h < H; h++) mean[h] = mean[h]! + x[t * H + h]! - y[t * H + h]!;
      count++;
    }
  });
  for (let h = 0; h < H; h++) mean[h] = mean[h]! / count;
  return { mean, count };
}

describe('RAHF-Dual extraction', () => {
  it('equals the by-hand mean of captured per-token differences (K = 64 and K = 3), bound to the target', async () => {
    for (const K of [64, 3]) {
      const { vector, samples } = await extractDualVector({ preferred: joy, dispreferred: sad, target: base }, dataset, { sites: SITES, tokens: K, recommend: false, folds: 3 });
      expect(vector.meta.method).toBe(RAHF_DUAL);
      expect(vector.meta.read).toBe(`response:${K}`);
      expect(vector.meta.model.fingerprint).toBe(base.manifest.fingerprint);
      expect(vector.meta.sources?.preferred.fingerprint).toBe(joy.manifest.fingerprint);
      expect(vector.meta.sources?.dispreferred.fingerprint).toBe(sad.manifest.fingerprint);
      for (const site of SITES) {
        const ref = await byHand(site, K);
        expect(samples.get(site)!.count).toBe(ref.count);
        const got = vector.direction(site);
        let maxErr = 0;
        for (let h = 0; h < H; h++) maxErr = Math.max(maxErr, Math.abs(got[h]! - ref.mean[h]!));
        expect(maxErr).toBeLessThan(1e-5);
        expect(Math.hypot(...ref.mean)).toBeGreaterThan(0.1);
      }
      if (K === 3) expect(samples.get(SITES[0]!)!.count).toBe(6 * 2 * 3);
    }
    // Without a target the vector steers the dispreferred model; the base model refuses it.
    const { vector } = await extractDualVector({ preferred: joy, dispreferred: sad }, dataset, { sites: SITES.slice(0, 1), recommend: false, folds: 3 });
    expect(vector.meta.model.fingerprint).toBe(sad.manifest.fingerprint);
    expect(() => vector.check(base)).toThrow(ModelMismatchError);
    expect(() => vector.check(sad)).not.toThrow();
    // The file round-trips with its sources.
    const path = join(work.path, 'dual.json');
    vector.save(path);
    expect(SteeringVector.load(path).meta.sources).toEqual(vector.meta.sources);
  });

  it('refuses the same model twice, instruction contrasts, and models that differ', async () => {
    await expect(extractDualVector({ preferred: sad, dispreferred: sad }, dataset, { sites: SITES, recommend: false })).rejects.toThrow(InvalidArgumentError);
    // Same weights, another tokenizer.
    const odd = join(work.path, 'odd-tokenizer');
    cpSync(sadDir, odd, { recursive: true });
    const tok = JSON.parse(readFileSync(join(odd, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } };
    const [first] = Object.keys(tok.model.vocab);
    tok.model.vocab[`${first}x`] = tok.model.vocab[first!]!;
    delete tok.model.vocab[first!];
    writeFileSync(join(odd, 'tokenizer.json'), JSON.stringify(tok));
    const oddModel = await HookedModel.load(odd, { intraOpNumThreads: 1 });
    try {
      const err = await extractDualVector({ preferred: joy, dispreferred: oddModel }, dataset, { sites: SITES, recommend: false }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelMismatchError);
      expect((err as Error).message).toMatch(/preferred model .*dispreferred model .*differ in tokenizer/);
    } finally {
      await oddModel.dispose();
    }
  });

  it('CLI: writes the vector; mismatched models exit with a one-line typed error and leave no file', async () => {
    const out = join(work.path, 'cli.json');
    const text = await cli('extract', '--method', 'rahf-dual', '--preferred-model', JOY_SFT, '--dispreferred-model', SAD_SFT, '--pairs', pairsFile, '--read', 'response:8', '--sites', SITES[0]!, '--no-recommend', '--folds', '3', '-o', out);
    expect(text).toMatch(/rahf-dual, read response:8/);
    const v = SteeringVector.load(out, { model: sad });
    const { vector } = await extractDualVector({ preferred: joy, dispreferred: sad }, dataset, { sites: SITES.slice(0, 1), tokens: 8, recommend: false, folds: 3 });
    expect(Array.from(v.direction(SITES[0]!))).toEqual(Array.from(vector.direction(SITES[0]!)));

    // Same architecture and tokenizer, hidden size 64 (random weights).
    const narrowSrc = join(work.path, 'narrow-src');
    mkdirSync(narrowSrc);
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) cpSync(join(SHARED, 'models', 'tinystories-656k', f), join(narrowSrc, f));
    const config = JSON.parse(readFileSync(join(SHARED, 'models', 'tinystories-656k', 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(narrowSrc, 'config.json'), JSON.stringify({ ...config, hidden_size: 64, intermediate_size: 128 }));
    const narrow = join(work.path, 'narrow');
    await buildModel(narrowSrc, narrow, { randomInit: { seed: 1 } });
    const bad = join(work.path, 'bad.json');
    const err = await cli('extract', '--method', 'rahf-dual', '--preferred-model', JOY_SFT, '--dispreferred-model', narrow, '--pairs', pairsFile, '--sites', SITES[0]!, '--no-recommend', '-o', bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelMismatchError);
    expect((err as ModelMismatchError).exitCode).toBe(1);
    expect((err as Error).message).not.toContain('\n');
    expect((err as Error).message).toMatch(/preferred model tinystories-656k-sft-joy.*dispreferred model narrow .*hidden 64.*differ in hidden size/);
    expect(existsSync(bad)).toBe(false);
    await expect(cli('extract', '--method', 'rahf-dual', '--preferred-model', JOY_SFT, '--pairs', pairsFile, '-o', bad)).rejects.toThrow(UsageError);
    await expect(cli('extract', '--method', 'rahf-dual', '--preferred-model', JOY_SFT, '--dispreferred-model', SAD_SFT, '--read', 'mean', '--pairs', pairsFile, '-o', bad)).rejects.toThrow(UsageError);
    await expect(cli('extract', '--preferred-model', JOY_SFT, '--pairs', pairsFile, '-o', bad)).rejects.toThrow(UsageError);
    expect(existsSync(bad)).toBe(false);
  });
});
