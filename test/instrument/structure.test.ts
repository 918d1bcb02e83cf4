/**
 * Detection works from structure, and failures are typed, explained and
 * leave nothing behind.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeModel, instrumentModel, locateOnnx } from '../../src/instrument/index.js';
import { readModel, writeModel } from '../../src/onnx/io.js';
import {
  CorruptFileError, FileNotFoundError, InvalidArgumentError, NoResidualStreamError, OutputExistsError,
} from '../../src/errors.js';
import { BEAM_SEARCH, DECODERS, FIXTURES, tempDir } from '../helpers/fixtures.js';
import { renameEverything, tinyEncoder } from './helpers/graphs.js';
import { SESSION_OPTIONS } from './helpers/feeds.js';

let work: string;
beforeAll(() => { work = tempDir('structure'); });
afterAll(() => { if (work) rmSync(work, { recursive: true, force: true }); });

describe('detection is structural', () => {
  for (const fx of DECODERS) {
    it(`${fx.id}: the same sites after renaming every tensor and node`, () => {
      const original = analyzeModel(fx.input);
      const loaded = readModel(locateOnnx(fx.input));
      const names = renameEverything(loaded.model);
      const dir = join(work, `renamed-${fx.id}`);
      mkdirSync(dir, { recursive: true });
      writeModel(loaded.model, join(dir, 'model.onnx'), { sourceDir: loaded.dir });
      const renamed = analyzeModel(join(dir, 'model.onnx'));
      const map = (n: string | undefined): string | undefined => (n ? names.get(n) : n);

      expect(original.instrumentable).toBe(true);
      expect(renamed.instrumentable).toBe(true);
      expect(renamed.numBlocks).toBe(fx.numBlocks);
      expect(renamed.hiddenSize).toBe(original.hiddenSize);
      expect(renamed.dtype).toBe(original.dtype);
      expect(renamed.residuals.map((r) => r.site)).toEqual(original.residuals.map((r) => r.site));
      expect(renamed.residuals.map((r) => r.tensor)).toEqual(original.residuals.map((r) => map(r.tensor) ?? ''));
      expect(renamed.residuals.some((r) => /^t\d+$/.test(r.tensor))).toBe(true);
      expect(renamed.inputs.inputIds?.name).toBe(map(original.inputs.inputIds?.name));
      expect(renamed.inputs.attentionMask?.name).toBe(map(original.inputs.attentionMask?.name));
      expect(renamed.inputs.positionIds?.name).toBe(map(original.inputs.positionIds?.name));
      expect(renamed.cache?.kind).toBe(original.cache?.kind);
      expect(renamed.cache?.past?.map((p) => p.key)).toEqual(original.cache?.past?.map((p) => map(p.key)));
      expect(renamed.cache?.pastStacked).toEqual(original.cache?.pastStacked?.map(map));
      expect(renamed.outputs.logits ?? renamed.outputs.lastHidden).toBe(map(original.outputs.logits ?? original.outputs.lastHidden));
    });
  }

  it('instruments a renamed fused fp16 graph with external data onto the same tensors', async () => {
    const fx = DECODERS.find((f) => f.id === 'ortgenai-mb-tiny-llama-fp16');
    if (!fx) throw new Error('fixture missing');
    const loaded = readModel(locateOnnx(fx.input));
    const names = renameEverything(loaded.model);
    const src = join(work, 'renamed-mb-src');
    mkdirSync(src, { recursive: true });
    writeModel(loaded.model, join(src, 'model.onnx'), { sourceDir: loaded.dir });
    const reference = await instrumentModel(fx.input, join(work, 'mb-plain'));
    const manifest = await instrumentModel(src, join(work, 'mb-renamed'));
    expect(manifest.sites.map((s) => s.name)).toEqual(reference.sites.map((s) => s.name));
    const exposed = reference.sites.filter((s) => names.has(s.sourceTensor));
    expect(exposed.length).toBeGreaterThan(0);
    for (const s of exposed) {
      expect(manifest.sites.find((x) => x.name === s.name)?.sourceTensor).toBe(names.get(s.sourceTensor));
    }
    expect(existsSync(join(work, 'mb-renamed', 'model.onnx.data'))).toBe(true);
  });

  it('ignores GELU-tanh look-alikes (x + 0.044715·x³ has no weight on its branch)', () => {
    const report = analyzeModel(join(FIXTURES, 'ort-testdata-gpt2-past-torch16'));
    const how = report.residuals.map((r) => r.how).join('\n');
    expect(report.residuals).toHaveLength(3 * 12);
    expect(report.residuals.filter((r) => r.how.startsWith('Add x + f(x)'))).toHaveLength(24);
    expect(how).toContain('Add of token and position embeddings');
  });
});

describe('rejections', () => {
  it('rejects the BeamSearch graph: the decoder is a subgraph', async () => {
    const report = analyzeModel(BEAM_SEARCH);
    expect(report.instrumentable).toBe(false);
    expect(report.reason).toMatch(/found one com\.microsoft\.BeamSearch node whose decoder is a subgraph/);
    const out = join(work, 'beam-out');
    await expect(instrumentModel(BEAM_SEARCH, out)).rejects.toThrow(NoResidualStreamError);
    await expect(instrumentModel(BEAM_SEARCH, out)).rejects.toThrow(/BeamSearch node whose decoder is a subgraph/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(work).filter((f) => f.includes('beam-out'))).toEqual([]);
  });

  it('rejects an encoder-only graph and says what it found', async () => {
    const path = join(work, 'encoder', 'model.onnx');
    writeModel(tinyEncoder(), path);
    // The test graph is a real, runnable model.
    const session = await ort.InferenceSession.create(path, SESSION_OPTIONS);
    const run = await session.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from([1n, 2n, 3n]), [1, 3]) });
    expect(run.last_hidden_state?.dims).toEqual([1, 3, 8]);
    await session.release();

    const report = analyzeModel(path);
    expect(report.instrumentable).toBe(false);
    expect(report.reason).toMatch(/found 4 residual adds/);
    expect(report.reason).toMatch(/longest chain has 1/);
    expect(report.reason).toMatch(/no KV-cache inputs/);
    expect(report.reason).toMatch(/not a causal decoder/);
    await expect(instrumentModel(path, join(work, 'encoder-out'))).rejects.toThrow(NoResidualStreamError);
    expect(existsSync(join(work, 'encoder-out'))).toBe(false);
  });

  it('says what it found when the chain does not have two adds per cached layer', () => {
    const loaded = readModel(locateOnnx(join(FIXTURES, 'torch-tiny-random-Qwen2ForCausalLM')));
    const graph = loaded.model.graph;
    if (!graph) throw new Error('no graph');
    graph.input = graph.input.filter((v) => !v.name?.startsWith('past_key_values.1.'));
    graph.output = graph.output.filter((v) => !v.name?.startsWith('present.1.'));
    const path = join(work, 'one-layer-cache', 'model.onnx');
    writeModel(loaded.model, path, { sourceDir: loaded.dir });
    const report = analyzeModel(path);
    expect(report.instrumentable).toBe(false);
    expect(report.reason).toMatch(/found 5 residual adds .*the longest chain has 4, .* but the KV cache has 1 layer; expected 2 residual adds per block/);
  });

  it('checks the residual wiring against the family adapter named in config.json', () => {
    const dir = join(work, 'gptj-as-llama');
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(FIXTURES, 'torch-tiny-random-GPTJForCausalLM', 'model.onnx'), join(dir, 'model.onnx'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ architectures: ['LlamaForCausalLM'] }));
    const report = analyzeModel(dir);
    expect(report.instrumentable).toBe(false);
    expect(report.reason).toMatch(/LlamaForCausalLM adapter says the blocks are sequential: 2 residual adds per block/);
    const parallel = analyzeModel(join(FIXTURES, 'torch-tiny-random-GPTJForCausalLM'));
    expect(parallel.instrumentable).toBe(true);
    expect(parallel.residuals.map((r) => r.site)).toEqual(['blocks.0.hook_resid_pre', 'blocks.0.hook_resid_post', 'blocks.1.hook_resid_pre', 'blocks.1.hook_resid_post']);
  });

  it('reports a missing file', async () => {
    await expect(instrumentModel(join(work, 'nope.onnx'), join(work, 'x'))).rejects.toThrow(FileNotFoundError);
    expect(() => analyzeModel(join(work, 'nope'))).toThrow(FileNotFoundError);
    const empty = join(work, 'empty-dir');
    mkdirSync(empty);
    expect(() => analyzeModel(empty)).toThrow(FileNotFoundError);
  });

  it('reports a truncated graph and truncated external data', async () => {
    const src = locateOnnx(join(FIXTURES, 'torch-tiny-random-Qwen2ForCausalLM'));
    const bytes = readFileSync(src);
    const cut = join(work, 'truncated', 'model.onnx');
    mkdirSync(dirname(cut), { recursive: true });
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(instrumentModel(cut, join(work, 'truncated-out'))).rejects.toThrow(CorruptFileError);
    expect(existsSync(join(work, 'truncated-out'))).toBe(false);

    const mb = join(FIXTURES, 'ortgenai-mb-tiny-llama-fp16');
    const dir = join(work, 'truncated-data');
    mkdirSync(dir);
    copyFileSync(join(mb, 'model.onnx'), join(dir, 'model.onnx'));
    const data = readFileSync(join(mb, 'model.onnx.data'));
    writeFileSync(join(dir, 'model.onnx.data'), data.subarray(0, data.length - 1000));
    await expect(instrumentModel(dir, join(work, 'truncated-data-out'))).rejects.toThrow(/external data truncated/);
  });
});

describe('outputs', () => {
  const fx = join(FIXTURES, 'torch-tiny-random-GPT2LMHeadModel');

  it('refuses an existing output without force and replaces it with force', async () => {
    const out = join(work, 'exists');
    mkdirSync(out);
    writeFileSync(join(out, 'keep.txt'), 'mine');
    await expect(instrumentModel(fx, out)).rejects.toThrow(OutputExistsError);
    expect(readFileSync(join(out, 'keep.txt'), 'utf8')).toBe('mine');
    const manifest = await instrumentModel(fx, out, { force: true });
    expect(existsSync(join(out, 'keep.txt'))).toBe(false);
    expect(JSON.parse(readFileSync(join(out, 'hooks.json'), 'utf8'))).toEqual(manifest);
    expect(readdirSync(work).filter((f) => f.startsWith('.exists'))).toEqual([]);
  });

  it('adds only the selected sites', async () => {
    const out = join(work, 'post-only');
    const manifest = await instrumentModel(fx, out, { sites: ['hook_resid_post', 'blocks.0.hook_resid_pre'] });
    expect(manifest.sites.map((s) => s.name)).toEqual(['blocks.0.hook_resid_pre', 'blocks.0.hook_resid_post', 'blocks.1.hook_resid_post']);
    const inputs = readModel(join(out, 'model.onnx')).model.graph?.input.map((v) => v.name) ?? [];
    expect(inputs.filter((n) => n?.endsWith('.steer'))).toHaveLength(3);
    await expect(instrumentModel(fx, join(work, 'bad-site'), { sites: ['blocks.9.hook_resid_post'] })).rejects.toThrow(InvalidArgumentError);
    expect(existsSync(join(work, 'bad-site'))).toBe(false);
  });

  it('does not instrument a graph twice', async () => {
    const out = join(work, 'twice');
    await instrumentModel(fx, out);
    expect(analyzeModel(out).reason).toMatch(/already instrumented by onnx-steer \(hook inputs blocks\.0\.hook_resid_pre\.steer/);
    await expect(instrumentModel(out, join(work, 'twice-again'))).rejects.toThrow(NoResidualStreamError);
  });
});
