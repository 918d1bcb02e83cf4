/**
 * Opening up fused onnxruntime ops must not change what steering means.
 * Steering a residual sum computed inside SkipLayerNormalization /
 * SkipSimplifiedLayerNormalization by v is compared with the untouched fused
 * graph whose skip input is shifted by v (the fused kernel then normalises
 * the shifted sum itself). For EmbedLayerNormalization, steering block 0's
 * input by v is compared with the fused graph reading a word-embedding table
 * shifted by v.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instrumentModel, locateOnnx } from '../../src/instrument/index.js';
import { analyzeGraph } from '../../src/instrument/analyze.js';
import { GraphEditor } from '../../src/onnx/graph.js';
import { readModel, writeModel } from '../../src/onnx/io.js';
import { elemTypeOf } from '../../src/hooks/insert.js';
import type { HooksManifest } from '../../src/hooks/manifest.js';
import { DECODERS, tempDir, type DecoderFixture } from '../helpers/fixtures.js';
import {
  SESSION_OPTIONS, feedableSession, floatTensor, hookFeeds, mainOutput, maxAbs, maxAbsDiff, prefill, presentNames, randomVector, toFloat32,
} from './helpers/feeds.js';

const FUSED = ['ortgenai-mb-tiny-llama-fp16', 'ortq-mb-tiny-llama-gqa-int4', 'ortq-mb-tiny-llama-gqa-int8dyn', 'ortgenai-ortopt-tiny-gpt2-fp32',
  'ortgenai-ortopt-tiny-gpt2-fp16', 'ortgenai-handbuilt-tiny-qwen35-gqa-fp16'];
const PROMPT = [3, 1, 4, 1, 5];

/** The source graph with residual site `site` shifted by `v` through the fused op's own inputs. */
function shiftedSource(fx: DecoderFixture, site: string, v: Float32Array, outPath: string): void {
  const loaded = readModel(locateOnnx(fx.input));
  const editor = new GraphEditor(loaded.model);
  const result = analyzeGraph(editor, loaded.path);
  if (!result.ok) throw new Error(result.report.reason);
  const { chain, dtype, embedNode } = result.analysis;
  const vec = editor.addInitializer(floatInit('test_shift', dtype, v));
  const m = /^blocks\.(\d+)\.(hook_resid_\w+)$/.exec(site);
  if (!m) throw new Error(site);
  const block = Number(m[1]);
  if (m[2] === 'hook_resid_pre') {
    if (block !== 0 || !embedNode) throw new Error('only block 0 behind EmbedLayerNormalization');
    embedNode.input[2] = editor.op('Add', [embedNode.input[2] ?? '', vec], 'test_shifted_table');
  } else {
    const add = chain.adds[2 * block + (m[2] === 'hook_resid_mid' ? 0 : 1)];
    if (!add) throw new Error(site);
    add.node.input[add.fIndex] = editor.op('Add', [add.node.input[add.fIndex] ?? '', vec], 'test_shifted_branch');
  }
  editor.topologicalSort();
  writeModel(loaded.model, outPath, { sourceDir: loaded.dir });
}

function floatInit(name: string, dtype: 'float32' | 'float16', v: Float32Array) {
  const t = floatTensor(dtype, v, [v.length]);
  const data = t.data as Float32Array | Uint16Array;
  return { name, dataType: elemTypeOf(dtype), dims: [v.length], rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

for (const fx of DECODERS.filter((f) => FUSED.includes(f.id))) {
  describe(fx.id, () => {
    let work: string;
    let manifest: HooksManifest;
    let feedable: ort.InferenceSession;
    /** Relative to the output's magnitude (the fused kernels sum in float32 even for fp16 graphs). */
    const tol = fx.dtype === 'float16' ? 2e-2 : 1e-5;

    beforeAll(async () => {
      work = tempDir('fused');
      manifest = await instrumentModel(fx.input, join(work, 'hooked'));
      feedable = await feedableSession(join(work, 'hooked', 'model.onnx'), manifest);
    });
    afterAll(async () => {
      await feedable?.release();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    const sites = ['blocks.0.hook_resid_mid', `blocks.${fx.numBlocks - 1}.hook_resid_post`];
    if (fx.id.includes('ortopt')) sites.unshift('blocks.0.hook_resid_pre');
    for (const site of sites) {
      it(`steering ${site} equals shifting the fused op's input`, async () => {
        const siteInfo = manifest.sites.find((s) => s.name === site);
        if (!siteInfo) throw new Error(site);
        const [plain] = await prefill(feedable, manifest, PROMPT, hookFeeds(manifest));
        if (!plain) throw new Error('no run');
        const scale = maxAbs(toFloat32(plain.outputs[siteInfo.capture] as ort.Tensor)) + 0.5;
        const v = randomVector(fx.hiddenSize, 11).map((x) => x * scale);
        const refPath = join(work, `ref-${site}.onnx`);
        shiftedSource(fx, site, v, refPath);
        const ref = await ort.InferenceSession.create(refPath, SESSION_OPTIONS);
        try {
          const steer = { [siteInfo.steer]: floatTensor(fx.dtype, v, [1, 1, fx.hiddenSize]) };
          const [a] = await prefill(ref, manifest, PROMPT);
          const [b] = await prefill(feedable, manifest, PROMPT, hookFeeds(manifest, steer));
          if (!a || !b) throw new Error('no run');
          const main = mainOutput(manifest);
          for (const n of [main, ...presentNames(manifest)]) {
            const x = toFloat32(a.outputs[n] as ort.Tensor);
            expect(maxAbsDiff(x, toFloat32(b.outputs[n] as ort.Tensor))).toBeLessThanOrEqual(tol * maxAbs(x) + 1e-6);
          }
          // The shift is visible in the output, so the comparison is not vacuous.
          const moved = maxAbsDiff(toFloat32(plain.outputs[main] as ort.Tensor), toFloat32(b.outputs[main] as ort.Tensor));
          expect(moved).toBeGreaterThan(5 * tol * maxAbs(toFloat32(b.outputs[main] as ort.Tensor)));
        } finally {
          await ref.release();
        }
      });
    }
  });
}
