/** Checkpoint variants: sharded, F16/BF16, random init, progress. */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../src/builder/index.js';
import type { HooksManifest } from '../../src/hooks/manifest.js';
import { sha256Bytes, sha256Files } from '../../src/files/fs.js';
import {
  bf16Tensor, cleanupTempDirs, f16Tensor, f32Tensor, fixtureDir, floatData, openSession, prefill, readF32Safetensors, tempDir, tinyStoriesDir, toHalfBits,
  writeSafetensors, type StTensor,
} from './helpers.js';

const IDS = [1, 80, 147, 201, 282, 57];
const weights = readF32Safetensors(join(tinyStoriesDir, 'model.safetensors'));

afterAll(cleanupTempDirs);

/** A checkpoint directory with tinystories' config and tokenizer and the given safetensors files. */
function checkpoint(files: Record<string, StTensor[]>, index?: Record<string, string>): string {
  const dir = join(tempDir('ckpt'), 'ckpt');
  mkdirSync(dir);
  for (const f of ['config.json', 'tokenizer.json', 'generation_config.json']) copyFileSync(join(tinyStoriesDir, f), join(dir, f));
  for (const [name, tensors] of Object.entries(files)) writeSafetensors(join(dir, name), tensors);
  if (index) writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: index }));
  return dir;
}

async function logitsOf(source: string): Promise<{ logits: Float32Array; manifest: HooksManifest }> {
  const out = join(tempDir('ckpt-out'), 'model');
  const manifest = await buildModel(source, out);
  const session = await openSession(out);
  const logits = floatData((await prefill(session, manifest, IDS)).logits).slice();
  await session.release();
  return { logits, manifest };
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  return exp === 0 ? sign * frac * 2 ** -24 : sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

describe('checkpoint layouts and dtypes', () => {
  let original: Float32Array;

  beforeAll(async () => {
    original = (await logitsOf(tinyStoriesDir)).logits;
  });

  it('builds a sharded checkpoint to the same model', async () => {
    const half = Math.ceil(weights.length / 2);
    const shards = { 'model-00001-of-00002.safetensors': weights.slice(0, half), 'model-00002-of-00002.safetensors': weights.slice(half) };
    const index = Object.fromEntries(Object.entries(shards).flatMap(([file, list]) => list.map((w) => [w.name, file])));
    const dir = checkpoint(
      Object.fromEntries(Object.entries(shards).map(([file, list]) => [file, list.map((w) => f32Tensor(w.name, w.shape, w.values))])),
      index,
    );
    const { logits, manifest } = await logitsOf(dir);
    expect(logits).toEqual(original);
    expect(manifest.fingerprint).toBe(sha256Files([join(dir, 'config.json'), ...Object.keys(shards).map((f) => join(dir, f))]));
  });

  it('converts F16 and BF16 tensors exactly to float32', async () => {
    // Layer 0 in F16, layer 1 in BF16, the rest F32; the F32 twin holds the same rounded values.
    // The checkpoint's weights are already bfloat16-exact, so they are scaled first to make
    // the rounding non-trivial.
    const rounded = weights.map((w) => {
      const scaled = w.values.map((x) => x * 0.987);
      if (w.name.includes('layers.0.')) return { ...w, kind: 'F16' as const, values: scaled.map((x) => halfToFloat(toHalfBits(x))) };
      if (w.name.includes('layers.1.')) {
        const bits = new Uint32Array(scaled.buffer).map((u) => u & 0xffff0000);
        return { ...w, kind: 'BF16' as const, values: new Float32Array(bits.buffer) };
      }
      return { ...w, kind: 'F32' as const };
    });
    expect(rounded.filter((w) => w.kind !== 'F32').length).toBeGreaterThan(10);
    const mixed = checkpoint({
      'model.safetensors': rounded.map((w) => (w.kind === 'F16' ? f16Tensor(w.name, w.shape, w.values) : w.kind === 'BF16' ? bf16Tensor(w.name, w.shape, w.values) : f32Tensor(w.name, w.shape, w.values))),
    });
    const twin = checkpoint({ 'model.safetensors': rounded.map((w) => f32Tensor(w.name, w.shape, w.values)) });
    const a = await logitsOf(mixed);
    const b = await logitsOf(twin);
    expect(a.logits).toEqual(b.logits);
    // Scaling and rounding the weights moves the logits a little, but not the model.
    const diff = a.logits.reduce((m, x, i) => Math.max(m, Math.abs(x - (original[i] as number))), 0);
    expect(diff).toBeGreaterThan(0);
    expect(diff).toBeLessThan(0.1 * original.reduce((m, x) => Math.max(m, Math.abs(x)), 0));
  });

  it('accepts a checkpoint that stores the tied matrix as model.embed_tokens.weight', async () => {
    const renamed = weights.map((w) => (w.name === 'lm_head.weight' ? { ...w, name: 'model.embed_tokens.weight' } : w));
    const dir = checkpoint({ 'model.safetensors': renamed.map((w) => f32Tensor(w.name, w.shape, w.values)) });
    expect((await logitsOf(dir)).logits).toEqual(original);
  });
});

describe('GPT-2 checkpoints', () => {
  it('accepts tensor names without the transformer. prefix (original gpt2 layout)', async () => {
    const dir = join(tempDir('gpt2'), 'ckpt');
    mkdirSync(dir);
    const src = fixtureDir('GPT2LMHeadModel');
    copyFileSync(join(src, 'config.json'), join(dir, 'config.json'));
    const tensors = readF32Safetensors(join(src, 'model.safetensors'));
    expect(tensors.every((t) => t.name.startsWith('transformer.'))).toBe(true);
    writeSafetensors(join(dir, 'model.safetensors'), tensors.map((t) => f32Tensor(t.name.slice('transformer.'.length), t.shape, t.values)));
    const ids = [1, 2, 3, 4, 5];
    const logits: Float32Array[] = [];
    for (const source of [src, dir]) {
      const out = join(tempDir('gpt2-out'), 'model');
      const m = await buildModel(source, out);
      const s = await openSession(out);
      logits.push(floatData((await prefill(s, m, ids)).logits).slice());
      await s.release();
    }
    expect(logits[1]).toEqual(logits[0]);
  });
});

describe('random init', () => {
  const configPath = join(tinyStoriesDir, 'config.json');

  it('is deterministic per seed, fingerprints config text + seed, and runs', async () => {
    const parent = tempDir('random');
    const progress: [number, number][] = [];
    const a = await buildModel(configPath, join(parent, 'a'), { randomInit: { seed: 7 }, onProgress: (d, t) => progress.push([d, t]) });
    const b = await buildModel(tinyStoriesDir, join(parent, 'b'), { randomInit: { seed: 7 } });
    const c = await buildModel(configPath, join(parent, 'c'), { randomInit: { seed: 8 } });
    expect(a.fingerprint).toBe(sha256Bytes(`${readFileSync(configPath, 'utf8')}random-init:7`));
    expect(b.fingerprint).toBe(a.fingerprint);
    expect(c.fingerprint).not.toBe(a.fingerprint);
    const data = (d: string): Buffer => readFileSync(join(parent, d, 'model.onnx.data'));
    expect(data('a').equals(data('b'))).toBe(true);
    expect(data('a').equals(data('c'))).toBe(false);
    expect(a.origin.source).toContain('random-init seed 7');
    expect(progress.length).toBeGreaterThan(5);
    expect(progress.at(-1)?.[0]).toBe(progress.at(-1)?.[1]);
    expect(progress.every(([d], i) => d === i + 1)).toBe(true);

    const session = await openSession(join(parent, 'a'));
    const logits = floatData((await prefill(session, a, IDS)).logits);
    expect(logits.every(Number.isFinite)).toBe(true);
    const spread = Math.max(...logits) - Math.min(...logits);
    expect(spread).toBeGreaterThan(1e-3);
    await session.release();
  });
});
