/**
 * Built models against independent references: the float64 numpy forward
 * pass and transformers' greedy decoding for tinystories-656k, and
 * transformers' logits/residuals for the tiny Qwen2, Mistral and Phi3
 * checkpoints. Both attention variants.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel, type AttentionKind } from '../../src/builder/index.js';
import type { HooksManifest } from '../../src/hooks/manifest.js';
import {
  argmaxRow, cleanupTempDirs, fixtureDir, floatData, greedy, maxAbsErr, openSession, prefill, referencePath, sharedDir, tempDir, tinyStoriesDir, type TestSession,
} from './helpers.js';

interface RefSequence { text: string; ids: number[]; hidden: number[][]; logits_last: number[]; argmax_per_position: number[] }
interface Reference { sequences: RefSequence[]; greedy: { prompt_ids: number[]; ids: number[] } }
interface HfGreedy { prompt_ids: number[]; ids: number[] }

const reference = JSON.parse(readFileSync(referencePath, 'utf8')) as Reference;
const hfReference = JSON.parse(readFileSync(join(sharedDir, 'fixtures/reference/tinystories-656k.transformers-reference.json'), 'utf8')) as {
  greedy: { bos: HfGreedy; once_upon: HfGreedy };
};
const VARIANTS: AttentionKind[] = ['standard', 'gqa'];

afterAll(cleanupTempDirs);

describe.each(VARIANTS)('tinystories-656k, attention=%s', (attention) => {
  let manifest: HooksManifest;
  let session: TestSession;

  beforeAll(async () => {
    const out = join(tempDir('ref'), 'model');
    manifest = await buildModel(tinyStoriesDir, out, { attention });
    session = await openSession(out);
  });

  it('records the variant and its padding in the manifest', () => {
    expect(manifest.origin.producer).toBe(`onnx-steer build (attention=${attention})`);
    expect(manifest.inputs.padding).toBe(attention === 'gqa' ? 'right' : 'left');
    expect(manifest.architecture).toBe('LlamaForCausalLM');
  });

  it.each(reference.sequences.map((s, i) => [i, s] as const))('matches the float64 reference on sequence %i', async (_i, seq) => {
    const out = await prefill(session, manifest, seq.ids);
    const T = seq.ids.length;
    const H = manifest.hiddenSize;
    const embeds = maxAbsErr(floatData(out['blocks.0.hook_resid_pre']), seq.hidden[0] ?? []);
    expect(embeds.err / embeds.scale).toBeLessThanOrEqual(1e-5);
    for (let b = 0; b < manifest.numBlocks; b++) {
      const ref = seq.hidden[b + 1] ?? [];
      expect(ref.length).toBe(T * H);
      const { err, scale } = maxAbsErr(floatData(out[`blocks.${b}.hook_resid_post`]), ref);
      expect(err / scale).toBeLessThanOrEqual(1e-5);
    }
    const logits = floatData(out.logits);
    const V = manifest.vocabSize ?? 0;
    const last = maxAbsErr(logits.subarray((T - 1) * V, T * V), seq.logits_last);
    expect(last.err).toBeLessThanOrEqual(1e-4);
    expect(Array.from({ length: T }, (_, t) => argmaxRow(logits, t, V))).toEqual(seq.argmax_per_position);
  });

  it('reproduces the reference greedy ids from BOS with the KV cache', async () => {
    const ids = await greedy(session, manifest, reference.greedy.prompt_ids, reference.greedy.ids.length - reference.greedy.prompt_ids.length, 2);
    expect(ids).toEqual(reference.greedy.ids);
    expect(ids).toEqual(hfReference.greedy.bos.ids);
  });

  it('reproduces transformers greedy generate() from a multi-token prompt', async () => {
    const { prompt_ids: prompt, ids: expected } = hfReference.greedy.once_upon;
    const ids = await greedy(session, manifest, prompt, expected.length - prompt.length, 2);
    expect(ids).toEqual(expected);
  });
});

interface Expected {
  logits: number[][];
  residual_stream: { values: number[][][] };
  input: { input_ids: number[][] };
}

describe.each(['Qwen2ForCausalLM', 'MistralForCausalLM', 'Phi3ForCausalLM', 'GPT2LMHeadModel'])('%s fixture', (arch) => {
  const dir = fixtureDir(arch);
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;

  it.each(VARIANTS)('matches transformers logits and residuals with attention=%s', async (attention) => {
    const out = join(tempDir('fixture'), 'model');
    const progress: number[][] = [];
    const manifest = await buildModel(dir, out, { attention, onProgress: (done, total) => progress.push([done, total]) });
    expect(manifest.architecture).toBe(arch);
    expect(progress.at(-1)?.[0]).toBe(progress.at(-1)?.[1]);
    const session = await openSession(out);
    const ids = expected.input.input_ids[0] ?? [];
    const result = await prefill(session, manifest, ids);
    const logits = maxAbsErr(floatData(result.logits), expected.logits.flat());
    expect(logits.err).toBeLessThanOrEqual(1e-4);
    const values = expected.residual_stream.values;
    expect(values.length).toBe(manifest.numBlocks + 1);
    values.forEach((ref, i) => {
      const site = i === 0 ? 'blocks.0.hook_resid_pre' : `blocks.${i - 1}.hook_resid_post`;
      const { err, scale } = maxAbsErr(floatData(result[site]), ref.flat());
      expect(err / scale).toBeLessThanOrEqual(1e-5);
    });
    await session.release();
  });
});
