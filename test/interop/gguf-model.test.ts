/**
 * GGUF model export of the default model (TinyStories-656K, a Llama):
 * read back by @huggingface/gguf (metadata, tensor names, shapes, types),
 * the weights checked against the Hugging Face checkpoint itself (parsed
 * here by hand, with the converter's q/k permutation written out), Q8_0
 * blocks checked against a quantization written out in this test, and the
 * file run by llama.cpp through node-llama-cpp: greedy ids must equal
 * onnx-steer's on the reference prompts, and next-token log-probabilities
 * must agree within 1e-4 (F32 weights, F32 KV cache).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gguf, GGMLQuantizationType, GGUFValueType } from '@huggingface/gguf';
import type { Token } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, OutputExistsError, UnsupportedArchitectureError, UnsupportedDtypeError } from '../../src/errors.js';
import { exportGgufModel } from '../../src/interop/gguf-model.js';
import { buildModel } from '../../src/builder/index.js';
import type { HookedModel } from '../../src/model/hooked-model.js';
import { defaultDir, loadDefault } from '../helpers/models.js';
import { REFERENCE, TINYSTORIES, tempDir } from '../helpers/paths.js';
import { permute } from '../helpers/gguf-permute.js';

const tmp = tempDir('onnx-steer-gguf-model-');
let modelDir: string;
let f32Path: string;
let q8Path: string;
beforeAll(async () => {
  modelDir = await defaultDir();
  f32Path = join(tmp.path, 'm.gguf');
  q8Path = join(tmp.path, 'm-q8.gguf');
  exportGgufModel(modelDir, f32Path);
  exportGgufModel(modelDir, q8Path, { type: 'q8_0' });
}, 300_000);
afterAll(() => tmp.cleanup());

interface RefSeq { text: string; ids: number[]; logits_last: number[] }
const reference = JSON.parse(readFileSync(join(REFERENCE, 'tinystories-656k.reference.json'), 'utf8')) as { sequences: RefSeq[]; greedy: { prompt_ids: number[]; ids: number[] } };

/** The checkpoint's tensors, parsed from model.safetensors by hand (F32 only). */
function safetensors(path: string): Map<string, { shape: number[]; data: Float32Array }> {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const bytes = buf.subarray(8 + n + t.data_offsets[0], 8 + n + t.data_offsets[1]);
    out.set(name, { shape: t.shape, data: new Float32Array(new Uint8Array(bytes).buffer) });
  }
  return out;
}

async function tensorBytes(path: string, name: string): Promise<Uint8Array> {
  const parsed = await gguf(path, { allowLocalFile: true });
  const info = parsed.tensorInfos.find((t) => t.name === name);
  if (!info) throw new Error(`no ${name}`);
  const start = Number(parsed.tensorDataOffset) + Number(info.offset);
  const dims = info.shape.map(Number);
  const elements = dims.reduce((a, b) => a * b, 1);
  const bytes = info.dtype === GGMLQuantizationType.Q8_0 ? (elements / 32) * 34 : elements * 4;
  return new Uint8Array(readFileSync(path).subarray(start, start + bytes));
}

const f32Of = (b: Uint8Array): Float32Array => new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);

describe('GGUF model export: the file', () => {
  it('carries llama.cpp\'s metadata, read back by @huggingface/gguf', async () => {
    const { typedMetadata: m, tensorInfos } = await gguf(f32Path, { allowLocalFile: true, typedMetadata: true });
    const cfg = JSON.parse(readFileSync(join(TINYSTORIES, 'config.json'), 'utf8')) as Record<string, number>;
    const tok = JSON.parse(readFileSync(join(TINYSTORIES, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } };
    expect(m['general.architecture']).toEqual({ value: 'llama', type: GGUFValueType.STRING });
    expect(m['general.file_type']).toEqual({ value: 0, type: GGUFValueType.UINT32 });
    const u32 = (k: string) => (m as Record<string, { value: unknown; type: number }>)[k];
    expect(u32('llama.block_count')).toEqual({ value: cfg.num_hidden_layers, type: GGUFValueType.UINT32 });
    expect(u32('llama.embedding_length')?.value).toBe(cfg.hidden_size);
    expect(u32('llama.feed_forward_length')?.value).toBe(cfg.intermediate_size);
    expect(u32('llama.attention.head_count')?.value).toBe(cfg.num_attention_heads);
    expect(u32('llama.attention.head_count_kv')?.value).toBe(cfg.num_key_value_heads);
    expect(u32('llama.context_length')?.value).toBe(cfg.max_position_embeddings);
    expect(u32('llama.rope.dimension_count')?.value).toBe(16);
    expect(u32('llama.rope.freq_base')).toEqual({ value: 10000, type: GGUFValueType.FLOAT32 });
    expect(u32('llama.attention.layer_norm_rms_epsilon')?.type).toBe(GGUFValueType.FLOAT32);
    expect(u32('llama.attention.layer_norm_rms_epsilon')?.value).toBeCloseTo(1e-6, 12);
    expect(m['tokenizer.ggml.model']?.value).toBe('llama');
    const tokens = m['tokenizer.ggml.tokens']?.value as string[];
    expect(tokens).toHaveLength(2048);
    for (const [text, id] of Object.entries(tok.model.vocab)) expect(tokens[id]).toBe(text);
    expect(u32('tokenizer.ggml.bos_token_id')?.value).toBe(1);
    expect(u32('tokenizer.ggml.eos_token_id')?.value).toBe(2);
    expect(u32('tokenizer.ggml.unknown_token_id')?.value).toBe(0);
    const types = u32('tokenizer.ggml.token_type')?.value as number[];
    expect(types.slice(0, 4)).toEqual([2, 3, 3, 1]); // <unk> UNKNOWN, the two story markers CONTROL, "\n" NORMAL
    const scores = u32('tokenizer.ggml.scores')?.value as number[];
    expect(scores[tok.model.vocab['wh'] ?? -1]).toBeLessThan(scores[tok.model.vocab['e▁'] ?? -1] ?? 0); // later merges score lower

    const shapes = Object.fromEntries(tensorInfos.map((t) => [t.name, [t.shape.map(Number), t.dtype]]));
    expect(Object.keys(shapes)).toHaveLength(2 + 9 * 2); // tied: no output.weight
    expect(shapes['token_embd.weight']).toEqual([[128, 2048], GGMLQuantizationType.F32]);
    expect(shapes['blk.1.attn_q.weight']).toEqual([[128, 128], GGMLQuantizationType.F32]);
    expect(shapes['blk.1.attn_k.weight']).toEqual([[128, 64], GGMLQuantizationType.F32]);
    expect(shapes['blk.1.ffn_down.weight']).toEqual([[384, 128], GGMLQuantizationType.F32]);
    expect(shapes['output_norm.weight']).toEqual([[128], GGMLQuantizationType.F32]);
  });

  it('holds exactly the checkpoint\'s weights, q and k permuted as llama.cpp\'s converter does', async () => {
    const st = safetensors(join(TINYSTORIES, 'model.safetensors'));
    const get = (n: string) => st.get(n)?.data ?? new Float32Array(0);
    const cases: [string, Float32Array][] = [
      ['token_embd.weight', get('lm_head.weight')],
      ['blk.0.attn_q.weight', permute(get('model.layers.0.self_attn.q_proj.weight'), 8, 128, 128)],
      ['blk.1.attn_k.weight', permute(get('model.layers.1.self_attn.k_proj.weight'), 4, 64, 128)],
      ['blk.1.attn_v.weight', get('model.layers.1.self_attn.v_proj.weight')],
      ['blk.0.attn_output.weight', get('model.layers.0.self_attn.o_proj.weight')],
      ['blk.0.ffn_gate.weight', get('model.layers.0.mlp.gate_proj.weight')],
      ['blk.1.ffn_up.weight', get('model.layers.1.mlp.up_proj.weight')],
      ['blk.1.ffn_down.weight', get('model.layers.1.mlp.down_proj.weight')],
      ['blk.1.ffn_norm.weight', get('model.layers.1.post_attention_layernorm.weight')],
      ['output_norm.weight', get('model.norm.weight')],
    ];
    for (const [name, expected] of cases) {
      const got = f32Of(await tensorBytes(f32Path, name));
      expect(got.length, name).toBe(expected.length);
      expect(Buffer.compare(Buffer.from(got.buffer, got.byteOffset, got.byteLength), Buffer.from(expected.buffer)), name).toBe(0);
    }
  });

  it('Q8_0: 2-D weights in ggml blocks equal to a by-hand quantization of the F32 weights; norms stay F32', async () => {
    const { tensorInfos, typedMetadata } = await gguf(q8Path, { allowLocalFile: true, typedMetadata: true });
    expect(typedMetadata['general.file_type']?.value).toBe(7);
    for (const t of tensorInfos) expect(t.dtype, t.name).toBe(t.shape.length === 2 ? GGMLQuantizationType.Q8_0 : GGMLQuantizationType.F32);
    const half = (h: number): number => {
      const e = (h >> 10) & 0x1f;
      const f = h & 0x3ff;
      const v = e === 0 ? f * 2 ** -24 : (1 + f / 1024) * 2 ** (e - 15);
      return h & 0x8000 ? -v : v;
    };
    for (const name of ['token_embd.weight', 'blk.0.attn_q.weight', 'blk.1.ffn_down.weight']) {
      const x = f32Of(await tensorBytes(f32Path, name));
      const q = await tensorBytes(q8Path, name);
      expect(q.byteLength).toBe((x.length / 32) * 34);
      const view = new DataView(q.buffer, q.byteOffset, q.byteLength);
      let maxErr = 0;
      let badScales = 0;
      const codes = new Int8Array(x.length);
      const stored = new Int8Array(x.length);
      for (let b = 0; b < x.length / 32; b++) {
        let amax = 0;
        for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j] as number));
        const d = Math.fround(amax / 127);
        const dq = half(view.getUint16(b * 34, true));
        if (Math.abs(dq - d) > d * 2 ** -11) badScales++; // fp16 rounding of d
        const id = d === 0 ? 0 : Math.fround(1 / d);
        for (let j = 0; j < 32; j++) {
          const w = x[b * 32 + j] as number;
          const v = Math.fround(w * id);
          codes[b * 32 + j] = (v < 0 ? -1 : 1) * Math.floor(Math.abs(v) + 0.5); // roundf: half away from zero
          stored[b * 32 + j] = view.getInt8(b * 34 + 2 + j);
          maxErr = Math.max(maxErr, Math.abs(stored[b * 32 + j]! * dq - w));
        }
      }
      expect(badScales, name).toBe(0);
      expect(Buffer.compare(Buffer.from(stored.buffer), Buffer.from(codes.buffer)), name).toBe(0);
      expect(maxErr).toBeLessThan(0.02); // dequantized values within half a step of the weights
    }
  });

  it('refuses what it cannot export, writing nothing', async () => {
    const out = join(tmp.path, 'refused.gguf');
    expect(() => exportGgufModel(modelDir, f32Path)).toThrow(OutputExistsError);
    expect(() => exportGgufModel(modelDir, out, { type: 'q4_k' as never })).toThrow(InvalidArgumentError);
    const int8 = join(tmp.path, 'int8');
    await buildModel(TINYSTORIES, int8, { quantize: 'int8', sites: [] });
    expect(() => exportGgufModel(int8, out)).toThrow(UnsupportedDtypeError);
    const gpt2 = join(tmp.path, 'gpt2');
    await buildModel(join(REFERENCE, '..', 'onnx', 'torch-tiny-random-GPT2LMHeadModel'), gpt2, { sites: [] });
    expect(() => exportGgufModel(gpt2, out)).toThrow(UnsupportedArchitectureError);
    expect(existsSync(out)).toBe(false);
  }, 120_000);
});

/** node-llama-cpp, loaded only if its prebuilt native binary loads on this machine. */
type NodeLlama = typeof import('node-llama-cpp');
let nlc: { mod: NodeLlama; llama: Awaited<ReturnType<NodeLlama['getLlama']>> } | undefined;
let nlcError = '';
try {
  const mod = await import('node-llama-cpp');
  nlc = { mod, llama: await mod.getLlama({ gpu: false, build: 'never', logLevel: mod.LlamaLogLevel.error }) };
} catch (err) {
  nlcError = (err as Error).message;
  console.error(`\n*** SKIPPING llama.cpp checks: node-llama-cpp's native binary cannot load here: ${nlcError}\n`);
}

describe.skipIf(!nlc)('GGUF model export: llama.cpp runs it (node-llama-cpp)', () => {
  let steer: HookedModel;
  beforeAll(async () => { steer = await loadDefault(); }, 300_000);
  afterAll(async () => { await steer?.dispose(); });

  const prompts = [reference.greedy.prompt_ids, ...reference.sequences.map((s) => s.ids)];

  for (const [label, which] of [['F32', () => f32Path], ['Q8_0', () => q8Path]] as const) {
    it(`${label}: llama.cpp's greedy ids vs onnx-steer generate --greedy on the reference prompts`, async () => {
      const llama = nlc?.llama;
      if (!llama) throw new Error(nlcError);
      const model = await llama.loadModel({ modelPath: which() });
      try {
        expect(model.tokenize('Once upon a time')).toEqual(reference.sequences[0]?.ids.slice(1));
        const agree: number[] = [];
        for (const ids of prompts) {
          const ours = (await steer.generate(ids, { temperature: 0, maxNewTokens: 40, stopOnEos: false })).rows[0]?.ids ?? [];
          const ctx = await model.createContext({ contextSize: 128, threads: 1, flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' });
          const theirs: number[] = [];
          for await (const t of ctx.getSequence().evaluate(ids as Token[], { temperature: 0, yieldEogToken: true })) {
            theirs.push(t);
            if (theirs.length >= ours.length) break;
          }
          await ctx.dispose();
          let n = 0;
          while (n < ours.length && ours[n] === theirs[n]) n++;
          agree.push(n);
          if (label === 'F32') expect(theirs).toEqual(ours);
        }
        console.log(`${label}: greedy ids agree with onnx-steer for ${agree.join(', ')} of 40 tokens on ${prompts.length} prompts`);
        if (label === 'Q8_0') expect(Math.min(...agree)).toBeGreaterThanOrEqual(5); // 8-bit weights: the argmax drifts after a few tokens
      } finally {
        await model.dispose();
      }
    }, 120_000);
  }

  it('F32: next-token log-probabilities agree with onnx-steer within 1e-4 (F32 KV cache)', async () => {
    const llama = nlc?.llama;
    if (!llama) throw new Error(nlcError);
    const model = await llama.loadModel({ modelPath: f32Path });
    let worst = 0;
    try {
      for (const s of reference.sequences) {
        const ctx = await model.createContext({ contextSize: 128, threads: 1, flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' });
        const input: unknown[] = s.ids.slice(0, -1);
        input.push([s.ids[s.ids.length - 1], { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } }]);
        const res = await ctx.getSequence().controlledEvaluate(input as never);
        const probs = res[s.ids.length - 1]?.next?.probabilities;
        expect(probs?.size).toBe(2048);
        const top = [...(probs?.entries() ?? [])].slice(0, 20);
        const scored = await steer.score(s.ids, top.map(([t]) => [t]));
        top.forEach(([, p], i) => { worst = Math.max(worst, Math.abs(Math.log(p) - (scored[i]?.logprob ?? 0))); });
        await ctx.dispose();
      }
    } finally {
      await model.dispose();
    }
    console.log(`F32: max |Δ log p| over the top 20 next tokens of ${reference.sequences.length} prompts: ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
  }, 120_000);
});
