/** Error paths of the builder and the `build` command, and output-directory handling. */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { buildModel } from '../../src/builder/index.js';
import { registerBuild } from '../../src/cli/commands/build.js';
import {
  CorruptFileError, FileNotFoundError, InvalidArgumentError, OutputExistsError, SteeringError, UnsupportedArchitectureError, UnsupportedDtypeError, UsageError,
} from '../../src/errors.js';
import { cleanupTempDirs, f32Tensor, readF32Safetensors, safetensorsBytes, tempDir, tinyStoriesDir, writeSafetensors } from './helpers.js';

afterAll(cleanupTempDirs);

const tinyConfig = JSON.parse(readFileSync(join(tinyStoriesDir, 'config.json'), 'utf8')) as Record<string, unknown>;
const weights = readF32Safetensors(join(tinyStoriesDir, 'model.safetensors'));

/** A checkpoint dir with a (possibly edited) tinystories config and the given model.safetensors bytes. */
function checkpoint(config: Record<string, unknown> = tinyConfig, model?: Buffer): string {
  const dir = join(tempDir('err'), 'ckpt');
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  if (model) writeFileSync(join(dir, 'model.safetensors'), model);
  else copyFileSync(join(tinyStoriesDir, 'model.safetensors'), join(dir, 'model.safetensors'));
  return dir;
}

/** Builds into a fresh parent and checks the error type, a one-line message, and that nothing was left behind. */
async function expectBuildError(source: string, type: new (...args: never[]) => SteeringError, pattern: RegExp): Promise<void> {
  const parent = tempDir('err-out');
  const out = join(parent, 'model');
  const err = await buildModel(source, out).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(type);
  const message = (err as Error).message;
  expect(message).toMatch(pattern);
  expect(message).not.toContain('\n');
  expect(readdirSync(parent)).toEqual([]);
}

describe('build errors', () => {
  it('reports a missing checkpoint directory', async () => {
    await expectBuildError(join(tempDir('err'), 'nope'), FileNotFoundError, /checkpoint not found/);
  });

  it('reports a directory without config.json', async () => {
    const dir = tempDir('err');
    copyFileSync(join(tinyStoriesDir, 'model.safetensors'), join(dir, 'model.safetensors'));
    await expectBuildError(dir, FileNotFoundError, /config\.json/);
  });

  it('reports a directory without weights', async () => {
    const dir = tempDir('err');
    writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyConfig));
    await expectBuildError(dir, FileNotFoundError, /model\.safetensors/);
  });

  it('names the supported architectures for an unknown one', async () => {
    const dir = checkpoint({ ...tinyConfig, architectures: ['MambaForCausalLM'], model_type: 'mamba' });
    await expectBuildError(dir, UnsupportedArchitectureError, /MambaForCausalLM.*LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM/);
  });

  it('rejects unknown rope scaling types and non-silu activations', async () => {
    await expectBuildError(checkpoint({ ...tinyConfig, rope_scaling: { rope_type: 'yarn', factor: 4 } }), UnsupportedArchitectureError, /rope scaling type "yarn"/);
    await expectBuildError(checkpoint({ ...tinyConfig, hidden_act: 'gelu' }), UnsupportedArchitectureError, /hidden_act "gelu"/);
  });

  it('accepts linear and llama3 rope scaling', async () => {
    for (const rope_scaling of [{ type: 'linear', factor: 2 }, { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 }]) {
      const out = join(tempDir('rope'), 'model');
      const m = await buildModel(checkpoint({ ...tinyConfig, rope_scaling }), out);
      expect(m.numBlocks).toBe(2);
    }
  });

  it('reports a truncated safetensors file', async () => {
    const full = readFileSync(join(tinyStoriesDir, 'model.safetensors'));
    await expectBuildError(checkpoint(tinyConfig, full.subarray(0, full.length - 1000)), CorruptFileError, /truncated/);
    await expectBuildError(checkpoint(tinyConfig, full.subarray(0, 4)), CorruptFileError, /too small/);
    await expectBuildError(checkpoint(tinyConfig, full.subarray(0, 200)), CorruptFileError, /header length .* exceeds/);
  });

  it('reports a corrupt header', async () => {
    const bytes = safetensorsBytes(weights.map((w) => f32Tensor(w.name, w.shape, w.values)));
    const n = Number(bytes.readBigUInt64LE(0));
    bytes.fill(0x7b, 8, 8 + n); // '{{{{…'
    await expectBuildError(checkpoint(tinyConfig, bytes), CorruptFileError, /corrupt safetensors header/);
  });

  it('reports a tensor whose byte size does not match its shape', async () => {
    const tensors = weights.map((w) => f32Tensor(w.name, w.shape, w.values));
    const first = tensors[0];
    if (!first) throw new Error('no tensors');
    tensors[0] = { ...first, shape: [first.shape[0] ?? 0, 1] };
    await expectBuildError(checkpoint(tinyConfig, safetensorsBytes(tensors)), CorruptFileError, /bytes but shape/);
  });

  it('reports an unsupported dtype', async () => {
    const tensors = weights.map((w) => (w.name.endsWith('layers.0.self_attn.q_proj.weight')
      ? { name: w.name, dtype: 'I8' as const, shape: w.shape, data: new Uint8Array(w.values.length) }
      : f32Tensor(w.name, w.shape, w.values)));
    await expectBuildError(checkpoint(tinyConfig, safetensorsBytes(tensors)), UnsupportedDtypeError, /dtype I8; only F32, F16, BF16/);
  });

  it('reports missing tensors and shapes that disagree with the config', async () => {
    const without = weights.filter((w) => !w.name.endsWith('layers.1.mlp.up_proj.weight')).map((w) => f32Tensor(w.name, w.shape, w.values));
    await expectBuildError(checkpoint(tinyConfig, safetensorsBytes(without)), CorruptFileError, /no tensor "model\.layers\.1\.mlp\.up_proj\.weight"/);
    await expectBuildError(checkpoint({ ...tinyConfig, intermediate_size: 256 }), CorruptFileError, /down_proj\.weight" has shape \[128, 384\], config implies \[128, 256\]/);
  });

  it('reports a sharded index that points at a missing shard', async () => {
    const dir = tempDir('err');
    writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyConfig));
    const half = Math.ceil(weights.length / 2);
    writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), weights.slice(0, half).map((w) => f32Tensor(w.name, w.shape, w.values)));
    const weightMap = Object.fromEntries(weights.map((w, i) => [w.name, i < half ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors']));
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
    await expectBuildError(dir, FileNotFoundError, /model-00002-of-00002\.safetensors/);
  });
});

describe('output directory', () => {
  it('refuses a non-empty output without force, replaces it with force, accepts an empty one', async () => {
    const out = join(tempDir('out'), 'model');
    mkdirSync(out);
    await buildModel(tinyStoriesDir, out); // empty dir: fine
    writeFileSync(join(out, 'stale.txt'), 'old');
    await expect(buildModel(tinyStoriesDir, out)).rejects.toBeInstanceOf(OutputExistsError);
    expect(existsSync(join(out, 'stale.txt'))).toBe(true);
    await buildModel(tinyStoriesDir, out, { force: true });
    expect(existsSync(join(out, 'stale.txt'))).toBe(false);
    expect(readdirSync(dirname(out))).toEqual(['model']);
  });

  it('refuses to write over the checkpoint itself', async () => {
    const dir = checkpoint();
    await expect(buildModel(dir, dir, { force: true })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(buildModel(join(dir, 'config.json'), dirname(dir), { force: true, randomInit: { seed: 1 } })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(existsSync(join(dir, 'model.safetensors'))).toBe(true);
  });
});

describe('onnx-steer build', () => {
  afterEach(() => { vi.restoreAllMocks(); });

  async function cli(args: string[]): Promise<string> {
    const program = new Command().exitOverride();
    registerBuild(program);
    for (const c of program.commands) c.exitOverride();
    let printed = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => { printed += String(chunk); return true; });
    await program.parseAsync(args, { from: 'user' });
    vi.restoreAllMocks();
    return printed;
  }

  it('builds and prints a JSON summary', async () => {
    const out = join(tempDir('cli'), 'model');
    const summary = JSON.parse(await cli(['build', tinyStoriesDir, '-o', out, '--json', '--attention', 'gqa', '--sites', 'hook_resid_post'])) as Record<string, unknown>;
    expect(summary).toMatchObject({ output: out, architecture: 'LlamaForCausalLM', numBlocks: 2, sites: 2, padding: 'right', producer: 'onnx-steer build (attention=gqa)' });
    expect(existsSync(join(out, 'model.onnx.data'))).toBe(true);
  });

  it('prints a human summary and honours --random-init --seed', async () => {
    const out = join(tempDir('cli'), 'model');
    const text = await cli(['build', join(tinyStoriesDir, 'config.json'), '-o', out, '--random-init', '--seed', '3']);
    expect(text).toMatch(/^built LlamaForCausalLM \(2 blocks, hidden 128, vocab 2048\)/);
    expect(JSON.parse(readFileSync(join(out, 'hooks.json'), 'utf8'))).toMatchObject({ origin: { source: expect.stringContaining('seed 3') as unknown } });
  });

  it('rejects bad options with usage errors', async () => {
    const out = join(tempDir('cli'), 'model');
    await expect(cli(['build', tinyStoriesDir, '-o', out, '--attention', 'flash'])).rejects.toBeInstanceOf(UsageError);
    await expect(cli(['build', tinyStoriesDir, '-o', out, '--seed', '2'])).rejects.toBeInstanceOf(UsageError);
    await expect(cli(['build', tinyStoriesDir, '-o', out, '--seed', 'x', '--random-init'])).rejects.toBeInstanceOf(UsageError);
    expect(existsSync(out)).toBe(false);
  });
});
