/**
 * The instrumentation contract, checked on every decoder fixture with
 * onnxruntime-node: zero steering inputs change nothing, a steering vector is
 * added to the residual, ablation removes a direction, and the manifest
 * describes the graph.
 */
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instrumentModel, locateOnnx } from '../../src/instrument/index.js';
import { readModel } from '../../src/onnx/io.js';
import { sha256Files } from '../../src/files/fs.js';
import type { HooksManifest } from '../../src/hooks/manifest.js';
import { DECODERS, tempDir } from '../helpers/fixtures.js';
import {
  SESSION_OPTIONS, feedableSession, floatTensor, hookFeeds, mainOutput, maxAbs, maxAbsDiff, prefill, presentNames, randomVector, step,
  toFloat32, type StepResult,
} from './helpers/feeds.js';
const PROMPT = [1, 2, 3, 4, 5];
const NEXT = 6;

/** A float output over every chunk of a (possibly chunked) prefill. */
function gather(results: readonly StepResult[], name: string): Float32Array {
  const parts = results.map((r) => {
    const t = r.outputs[name];
    if (!t) throw new Error(`missing output ${name}`);
    return toFloat32(t);
  });
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

function last<T>(list: readonly T[]): T {
  const item = list[list.length - 1];
  if (item === undefined) throw new Error('empty list');
  return item;
}

for (const fx of DECODERS) {
  describe(fx.id, () => {
    let work: string;
    let out: string;
    let manifest: HooksManifest;
    let original: ort.InferenceSession;
    /** The hooked graph as written (zero defaults for the hook inputs). */
    let hooked: ort.InferenceSession;
    /** The same graph with hook inputs fed explicitly. */
    let feedable: ort.InferenceSession;
    const zeroTol = fx.dtype === 'float16' ? 1e-2 : 1e-5;

    beforeAll(async () => {
      work = tempDir('contract');
      out = join(work, 'hooked');
      manifest = await instrumentModel(fx.input, out);
      original = await ort.InferenceSession.create(locateOnnx(fx.input), SESSION_OPTIONS);
      hooked = await ort.InferenceSession.create(join(out, 'model.onnx'), SESSION_OPTIONS);
      feedable = await feedableSession(join(out, 'model.onnx'), manifest);
    });

    afterAll(async () => {
      await original?.release();
      await hooked?.release();
      await feedable?.release();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it('writes a manifest that describes the graph', () => {
      expect(manifest.numBlocks).toBe(fx.numBlocks);
      expect(manifest.hiddenSize).toBe(fx.hiddenSize);
      expect(manifest.dtype).toBe(fx.dtype);
      expect(manifest.cache.kind).toBe(fx.cache);
      expect(manifest.cache.numLayers).toBe(fx.numBlocks);
      expect(manifest.inputs.inputIds.dtype).toBe(fx.ids);
      expect(manifest.inputs.padding).toBe(fx.padding);
      expect(manifest.inputs.maxSequence).toBe(fx.maxSequence);
      expect(manifest.outputs[fx.output]).toBeTruthy();
      expect(manifest.origin.kind).toBe('instrument');
      const perBlock = fx.parallel ? 2 : 3;
      expect(manifest.sites).toHaveLength(perBlock * fx.numBlocks);
      expect(new Set(manifest.sites.map((s) => s.name)).size).toBe(perBlock * fx.numBlocks);
      expect(manifest.sites.some((s) => s.name.endsWith('hook_resid_mid'))).toBe(!fx.parallel);

      const source = readModel(locateOnnx(fx.input));
      expect(manifest.fingerprint).toBe(sha256Files([source.path, ...source.externalFiles]));
      expect(existsSync(join(out, 'hooks.json'))).toBe(true);
      expect(existsSync(join(out, 'model.onnx.data'))).toBe(fx.externalData ?? false);
      for (const f of manifest.tokenizer?.files ?? []) expect(existsSync(join(out, f))).toBe(true);
      if (existsSync(join(dirname(source.path), 'tokenizer.json'))) expect(manifest.tokenizer?.files).toContain('tokenizer.json');

      // Steering inputs have zero initializer defaults (ORT lists them as overridable initializers).
      const graph = readModel(join(out, 'model.onnx')).model.graph;
      const inputs = new Set(graph?.input.map((v) => v.name));
      const defaults = new Set(graph?.initializer.map((t) => t.name));
      const outputs = new Set(hooked.outputNames);
      for (const s of manifest.sites) {
        expect(defaults.has(s.steer) && defaults.has(s.ablate)).toBe(true);
        expect(inputs.has(s.steer) && inputs.has(s.ablate)).toBe(true);
        expect(outputs.has(s.capture)).toBe(true);
      }
    });

    it('zero steering inputs change nothing (prefill and one cached decode step)', async () => {
      const names = [mainOutput(manifest), ...presentNames(manifest)];
      const a = await prefill(original, manifest, PROMPT);
      const b = await prefill(hooked, manifest, PROMPT);
      let prefillDiff = 0;
      for (const n of names) prefillDiff = Math.max(prefillDiff, maxAbsDiff(gather(a, n), gather(b, n)));
      expect(prefillDiff).toBeLessThanOrEqual(zeroTol);
      // Explicit zero feeds (how onnxruntime-node callers steer) match too.
      const c = await prefill(feedable, manifest, PROMPT, hookFeeds(manifest));
      for (const n of names) expect(maxAbsDiff(gather(a, n), gather(c, n))).toBeLessThanOrEqual(zeroTol);

      const la = last(a);
      const lb = last(b);
      const da = await step(original, manifest, [NEXT], la.cache, la.pastLength);
      const db = await step(hooked, manifest, [NEXT], lb.cache, lb.pastLength);
      let decodeDiff = 0;
      for (const n of names) decodeDiff = Math.max(decodeDiff, maxAbsDiff(gather([da], n), gather([db], n)));
      expect(decodeDiff).toBeLessThanOrEqual(zeroTol);
      // The output is a real forward pass, not an empty tensor.
      expect(maxAbs(gather([db], mainOutput(manifest)))).toBeGreaterThan(0);
    });

    it('a cached decode step equals the last position of a full prefill (the feeds match the cache layout)', async () => {
      // Static caches: write_indices = tokens already cached, nonpad_kv_seqlen = valid length after the write.
      const five = last(await prefill(hooked, manifest, PROMPT));
      const decoded = await step(hooked, manifest, [NEXT], five.cache, five.pastLength);
      const full = last(await prefill(hooked, manifest, [...PROMPT, NEXT]));
      const name = mainOutput(manifest);
      const width = (decoded.outputs[name]?.dims.at(-1) ?? 0);
      const a = gather([decoded], name);
      const b = gather([full], name).slice(-width);
      const tol = (fx.dtype === 'float16' || fx.dynamicQuant ? 2e-2 : 1e-4) * maxAbs(b);
      expect(maxAbsDiff(a, b)).toBeLessThanOrEqual(tol);
    });

    it('adds a steering vector at hook_resid_post and the output moves', async () => {
      const block = Math.floor((fx.numBlocks - 1) / 2);
      const site = manifest.sites.find((s) => s.name === `blocks.${block}.hook_resid_post`);
      if (!site) throw new Error('site missing');
      const plain = await prefill(feedable, manifest, PROMPT, hookFeeds(manifest));
      const h = gather(plain, site.capture);
      const scale = maxAbs(h) + 1;
      const v = randomVector(fx.hiddenSize, 7).map((x) => x * scale);
      const steered = await prefill(feedable, manifest, PROMPT, hookFeeds(manifest, { [site.steer]: floatTensor(fx.dtype, v, [1, 1, fx.hiddenSize]) }));
      const hs = gather(steered, site.capture);
      const added = hs.map((x, i) => x - (h[i] ?? 0));
      const expected = new Float32Array(h.length).map((_, i) => v[i % fx.hiddenSize] ?? 0);
      const tol = (fx.dtype === 'float16' ? 2e-3 : 1e-6) * (scale + maxAbs(v));
      expect(maxAbsDiff(added, expected)).toBeLessThanOrEqual(tol);
      const outName = mainOutput(manifest);
      expect(maxAbsDiff(gather(steered, outName), gather(plain, outName))).toBeGreaterThan(1e-3);
    });

    it('ablation removes a direction from the captured residual', async () => {
      const block = fx.numBlocks - 1;
      const site = manifest.sites.find((s) => s.name === `blocks.${block}.${fx.parallel ? 'hook_resid_post' : 'hook_resid_mid'}`);
      if (!site) throw new Error('site missing');
      const H = fx.hiddenSize;
      const plain = gather(await prefill(feedable, manifest, PROMPT, hookFeeds(manifest)), site.capture);
      const row0 = plain.slice(0, H);
      const norm0 = Math.hypot(...row0);
      const r = row0.map((x) => x / norm0);
      const ablated = gather(await prefill(feedable, manifest, PROMPT, hookFeeds(manifest, { [site.ablate]: floatTensor(fx.dtype, r, [1, 1, H]) })), site.capture);
      const tol = fx.dtype === 'float16' ? 1e-2 : 1e-5;
      for (let p = 0; p * H < ablated.length; p++) {
        const row = ablated.slice(p * H, (p + 1) * H);
        const before = plain.slice(p * H, (p + 1) * H);
        const proj = row.reduce((s, x, i) => s + x * (r[i] ?? 0), 0);
        expect(Math.abs(proj)).toBeLessThanOrEqual(tol * Math.hypot(...before));
      }
      // Position 0 lay entirely along r before ablation.
      expect(Math.abs(row0.reduce((s, x, i) => s + x * (r[i] ?? 0), 0))).toBeCloseTo(norm0, 3);
    });
  });
}
