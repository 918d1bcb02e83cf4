/**
 * Captured residuals against independent references: transformers'
 * residual stream in each torch tiny-random fixture's expected.json, and the
 * float64 numpy reference of the default model (hidden states, last logits,
 * greedy ids with a KV cache).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instrumentModel } from '../../src/instrument/index.js';
import type { HooksManifest } from '../../src/hooks/manifest.js';
import { DECODERS, FIXTURES, REFERENCE, tempDir } from '../helpers/fixtures.js';
import { SESSION_OPTIONS, argmaxLast, maxAbsDiff, prefill, relativeError, step, toFloat32, type StepResult } from './helpers/feeds.js';

interface ExpectedJson {
  input: { input_ids: number[][] };
  logits: number[][];
  residual_stream: { convention: string; values: number[][][] };
}

interface ReferenceJson {
  sequences: { text: string; ids: number[]; hidden: number[][]; logits_last: number[]; argmax_per_position: number[] }[];
  greedy: { prompt_ids: number[]; ids: number[] };
}

function capture(r: StepResult, name: string): Float32Array {
  const t = r.outputs[name];
  if (!t) throw new Error(`missing output ${name}`);
  return toFloat32(t);
}

/** Residual entering block 0, then the residual leaving each block. */
function streamSites(m: HooksManifest): string[] {
  return ['blocks.0.hook_resid_pre', ...Array.from({ length: m.numBlocks }, (_, i) => `blocks.${i}.hook_resid_post`)];
}

describe('captures match transformers (expected.json)', () => {
  for (const fx of DECODERS.filter((f) => f.expected)) {
    describe(fx.id, () => {
      let work: string;
      let manifest: HooksManifest;
      let session: ort.InferenceSession;
      let expected: ExpectedJson;

      beforeAll(async () => {
        work = tempDir('expected');
        manifest = await instrumentModel(fx.input, join(work, 'hooked'));
        session = await ort.InferenceSession.create(join(work, 'hooked', 'model.onnx'), SESSION_OPTIONS);
        expected = JSON.parse(readFileSync(join(FIXTURES, fx.id, 'expected.json'), 'utf8')) as ExpectedJson;
      });
      afterAll(async () => {
        await session?.release();
        if (work) rmSync(work, { recursive: true, force: true });
      });

      it('residual stream per block within 1e-5 (relative)', async () => {
        const ids = expected.input.input_ids[0] as number[];
        const [run] = await prefill(session, manifest, ids);
        if (!run) throw new Error('no run');
        const sites = streamSites(manifest);
        expect(expected.residual_stream.values).toHaveLength(sites.length);
        sites.forEach((site, i) => {
          const want = (expected.residual_stream.values[i] as number[][]).flat();
          expect(relativeError(capture(run, site), want)).toBeLessThanOrEqual(1e-5);
        });
        const logits = capture(run, manifest.outputs.logits as string);
        expect(relativeError(logits, expected.logits.flat())).toBeLessThanOrEqual(1e-5);
      });
    });
  }
});

describe('torch-legacy-tinystories-656k against the float64 reference', () => {
  const fx = DECODERS.find((f) => f.id === 'torch-legacy-tinystories-656k');
  let work: string;
  let manifest: HooksManifest;
  let session: ort.InferenceSession;
  let reference: ReferenceJson;

  beforeAll(async () => {
    if (!fx) throw new Error('fixture missing from the table');
    work = tempDir('tinystories');
    manifest = await instrumentModel(fx.input, join(work, 'hooked'));
    session = await ort.InferenceSession.create(join(work, 'hooked', 'model.onnx'), SESSION_OPTIONS);
    reference = JSON.parse(readFileSync(join(REFERENCE, 'tinystories-656k.reference.json'), 'utf8')) as ReferenceJson;
  });
  afterAll(async () => {
    await session?.release();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('names the architecture from config.json one level up', () => {
    expect(manifest.architecture).toBe('LlamaForCausalLM');
    expect(manifest.vocabSize).toBe(2048);
    expect(manifest.tokenizer?.files).toEqual(expect.arrayContaining(['tokenizer.json', 'config.json', 'generation_config.json']));
  });

  it('hidden states within 1e-5 (relative), last logits within 1e-4, argmax per position equal', async () => {
    for (const seq of reference.sequences) {
      const [run] = await prefill(session, manifest, seq.ids);
      if (!run) throw new Error('no run');
      streamSites(manifest).forEach((site, i) => {
        expect(relativeError(capture(run, site), seq.hidden[i] as number[])).toBeLessThanOrEqual(1e-5);
      });
      const logits = capture(run, manifest.outputs.logits as string);
      const vocab = seq.logits_last.length;
      expect(maxAbsDiff(logits.slice(logits.length - vocab), Float32Array.from(seq.logits_last))).toBeLessThanOrEqual(1e-4);
      const argmax = Array.from({ length: seq.ids.length }, (_, p) => {
        const row = logits.slice(p * vocab, (p + 1) * vocab);
        return row.indexOf(Math.max(...row));
      });
      expect(argmax).toEqual(seq.argmax_per_position);
    }
  });

  it('greedy decoding with the KV cache reproduces the reference ids', async () => {
    const ids = [...reference.greedy.prompt_ids];
    const want = reference.greedy.ids;
    let [r] = await prefill(session, manifest, ids);
    if (!r) throw new Error('no run');
    while (ids.length < want.length) {
      const next = argmaxLast(r.outputs[manifest.outputs.logits as string] as ort.Tensor);
      ids.push(next);
      if (next === 2) break;
      r = await step(session, manifest, [next], r.cache, r.pastLength);
    }
    expect(ids).toEqual(want);
  });
});
