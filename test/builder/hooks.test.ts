/** Hook sites on built models: steering, ablation, site selection and the manifest. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../src/builder/index.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { readManifest, type HooksManifest } from '../../src/hooks/manifest.js';
import { sha256Files } from '../../src/files/fs.js';
import { LIBRARY_VERSION } from '../../src/version.js';
import { cleanupTempDirs, floatData, maxAbsErr, openSession, prefill, tempDir, tinyStoriesDir, type TestSession } from './helpers.js';

const IDS = [1, 80, 147, 201, 282, 57];

afterAll(cleanupTempDirs);

/** Deterministic pseudo-random vector (sin-based, no shared state). */
function vector(n: number, seed: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => scale * Math.sin(seed * 12.9898 + i * 78.233));
}

function unit(v: Float32Array): Float32Array {
  const norm = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  return v.map((x) => x / norm);
}

describe('hook sites on a built tinystories-656k', () => {
  let out: string;
  let manifest: HooksManifest;
  let session: TestSession;
  let base: ort.InferenceSession.OnnxValueMapType;

  beforeAll(async () => {
    out = join(tempDir('hooks'), 'model');
    manifest = await buildModel(tinyStoriesDir, out, { attention: 'standard' });
    session = await openSession(out);
    base = await prefill(session, manifest, IDS);
  });

  it('writes a complete output directory and a manifest that reads back', () => {
    for (const f of ['model.onnx', 'model.onnx.data', 'hooks.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json', 'config.json']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const m = readManifest(out);
    expect(m).toEqual(manifest);
    expect(m.numBlocks).toBe(2);
    expect(m.hiddenSize).toBe(128);
    expect(m.vocabSize).toBe(2048);
    expect(m.maxPositions).toBe(512);
    expect(m.sites.map((s) => s.name)).toEqual([
      'blocks.0.hook_resid_pre', 'blocks.0.hook_resid_mid', 'blocks.0.hook_resid_post',
      'blocks.1.hook_resid_pre', 'blocks.1.hook_resid_mid', 'blocks.1.hook_resid_post',
    ]);
    expect(m.cache).toMatchObject({ kind: 'bnsh', dtype: 'float32', numLayers: 2, numKvHeads: 4, headDim: 16 });
    expect(m.cache.past?.[1]).toEqual({ key: 'past_key_values.1.key', value: 'past_key_values.1.value' });
    expect(m.cache.present?.[0]).toEqual({ key: 'present.0.key', value: 'present.0.value' });
    expect(m.fingerprint).toBe(sha256Files([join(tinyStoriesDir, 'config.json'), join(tinyStoriesDir, 'model.safetensors')]));
    expect(m.library).toEqual({ name: 'onnx-steer', version: LIBRARY_VERSION });
    expect(m.tokenizer?.files).toContain('tokenizer.json');
    expect(m.inputs.inputIds).toEqual({ name: 'input_ids', dtype: 'int64' });
    expect(readFileSync(join(out, 'tokenizer.json'))).toEqual(readFileSync(join(tinyStoriesDir, 'tokenizer.json')));
  });

  it('exposes the graph inputs and outputs of the Optimum layout', () => {
    expect(session.session.inputNames.slice(0, 3)).toEqual(['input_ids', 'attention_mask', 'position_ids']);
    expect(session.session.inputNames).toContain('past_key_values.1.value');
    expect(session.session.inputNames).toContain('blocks.1.hook_resid_post.steer');
    expect(session.session.outputNames).toContain('logits');
    expect(session.session.outputNames).toContain('present.1.key');
    expect(session.session.outputNames).toContain('blocks.0.hook_resid_mid');
  });

  it('leaves the model unchanged when zero steering and ablation inputs are fed', async () => {
    const H = manifest.hiddenSize;
    const zeros: Record<string, ort.Tensor> = {};
    for (const s of manifest.sites) {
      zeros[s.steer] = new ort.Tensor('float32', new Float32Array(H), [1, 1, H]);
      zeros[s.ablate] = new ort.Tensor('float32', new Float32Array(H), [1, 1, H]);
    }
    const fed = await prefill(session, manifest, IDS, zeros);
    expect(floatData(fed.logits)).toEqual(floatData(base.logits));
    expect(floatData(fed['blocks.1.hook_resid_post'])).toEqual(floatData(base['blocks.1.hook_resid_post']));
  });

  it('adds a steering vector at blocks.0.hook_resid_post and changes everything downstream', async () => {
    const H = manifest.hiddenSize;
    const v = vector(H, 3, 2);
    const steered = await prefill(session, manifest, IDS, { 'blocks.0.hook_resid_post.steer': new ort.Tensor('float32', v, [1, 1, H]) });
    const before = floatData(base['blocks.0.hook_resid_post']);
    const after = floatData(steered['blocks.0.hook_resid_post']);
    const expected = before.map((x, i) => x + (v[i % H] as number));
    const { err, scale } = maxAbsErr(after, expected);
    expect(err).toBeLessThanOrEqual(1e-6 * scale);
    // Upstream sites are untouched; the next block's input is the steered residual.
    expect(floatData(steered['blocks.0.hook_resid_mid'])).toEqual(floatData(base['blocks.0.hook_resid_mid']));
    expect(floatData(steered['blocks.1.hook_resid_pre'])).toEqual(after);
    expect(maxAbsErr(floatData(steered.logits), floatData(base.logits)).err).toBeGreaterThan(1e-2);
  });

  it('steers per position with a [1, seq, hidden] vector', async () => {
    const H = manifest.hiddenSize;
    const T = IDS.length;
    const v = new Float32Array(T * H);
    v.set(vector(H, 5, 1), (T - 1) * H);
    const steered = await prefill(session, manifest, IDS, { 'blocks.1.hook_resid_mid.steer': new ort.Tensor('float32', v, [1, T, H]) });
    const before = floatData(base['blocks.1.hook_resid_mid']);
    const after = floatData(steered['blocks.1.hook_resid_mid']);
    expect(after.subarray(0, (T - 1) * H)).toEqual(before.subarray(0, (T - 1) * H));
    expect(maxAbsErr(after.subarray((T - 1) * H), before.subarray((T - 1) * H)).err).toBeGreaterThan(0.5);
  });

  it('ablates a unit direction: zero projection on r at the site', async () => {
    const H = manifest.hiddenSize;
    const r = unit(vector(H, 7, 1));
    const ablated = await prefill(session, manifest, IDS, { 'blocks.1.hook_resid_pre.ablate': new ort.Tensor('float32', r, [1, 1, H]) });
    const h = floatData(base['blocks.1.hook_resid_pre']);
    const a = floatData(ablated['blocks.1.hook_resid_pre']);
    for (let t = 0; t < IDS.length; t++) {
      let dotBefore = 0;
      let dotAfter = 0;
      let norm = 0;
      for (let j = 0; j < H; j++) {
        dotBefore += (h[t * H + j] as number) * (r[j] as number);
        dotAfter += (a[t * H + j] as number) * (r[j] as number);
        norm += (h[t * H + j] as number) ** 2;
      }
      expect(Math.abs(dotBefore)).toBeGreaterThan(1e-3);
      expect(Math.abs(dotAfter)).toBeLessThanOrEqual(1e-5 * Math.sqrt(norm));
      for (let j = 0; j < H; j++) {
        expect(a[t * H + j]).toBeCloseTo((h[t * H + j] as number) - dotBefore * (r[j] as number), 3);
      }
    }
    expect(maxAbsErr(floatData(ablated.logits), floatData(base.logits)).err).toBeGreaterThan(1e-3);
  });
});

describe('site selection', () => {
  it('inserts only the selected kinds or names', async () => {
    const out = join(tempDir('sites'), 'model');
    const m = await buildModel(tinyStoriesDir, out, { sites: ['hook_resid_post', 'blocks.0.hook_resid_mid'] });
    expect(m.sites.map((s) => s.name)).toEqual(['blocks.0.hook_resid_mid', 'blocks.0.hook_resid_post', 'blocks.1.hook_resid_post']);
    const session = await openSession(out);
    expect(session.session.outputNames.filter((n) => n.startsWith('blocks.'))).toEqual(m.sites.map((s) => s.capture));
    const res = await prefill(session, m, IDS);
    expect((res['blocks.1.hook_resid_post'] as ort.Tensor).dims).toEqual([1, IDS.length, 128]);
    await session.release();
  });

  it('inserts a pre hook without the post hook before it', async () => {
    const out = join(tempDir('sites'), 'model');
    const m = await buildModel(tinyStoriesDir, out, { sites: ['blocks.1.hook_resid_pre'] });
    const session = await openSession(out);
    const H = m.hiddenSize;
    const base = await prefill(session, m, IDS);
    const steered = await prefill(session, m, IDS, { 'blocks.1.hook_resid_pre.steer': new ort.Tensor('float32', vector(H, 9, 1), [1, 1, H]) });
    expect(maxAbsErr(floatData(steered.logits), floatData(base.logits)).err).toBeGreaterThan(1e-3);
    await session.release();
  });

  it('rejects unknown site names before writing anything', async () => {
    const parent = tempDir('sites');
    await expect(buildModel(tinyStoriesDir, join(parent, 'model'), { sites: ['blocks.9.hook_resid_post'] })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(existsSync(join(parent, 'model'))).toBe(false);
  });
});
