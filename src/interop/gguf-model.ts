/**
 * A model made by `onnx-steer build` as a llama.cpp GGUF model (F32 or
 * Q8_0), with the weights read back from the built ONNX graph itself, so
 * llama.cpp runs exactly the weights onnx-steer runs.
 *
 * The tensors are the ones llama.cpp's converter (convert_hf_to_gguf.py)
 * writes for the Hugging Face checkpoint: `token_embd`, `blk.N.attn_{norm,q,k,v,output}`,
 * `blk.N.ffn_{norm,gate,up,down}`, `output_norm`, `output` (omitted when
 * the embedding is tied: llama.cpp then reuses token_embd), in Hugging Face
 * [out, in] layout (ggml dims [in, out]). The builder's MatMul layout is
 * undone on the way: q|k|v and gate|up are unpacked and transposed back, and
 * the softmax scale the builder folds into q is divided out (exact when
 * √head_dim is a power of two, as for head sizes 16, 64 and 256; otherwise
 * within one float32 rounding). For the `llama` architecture, q and k rows
 * are permuted from rotate_half pairs (j, j + d/2) to llama.cpp's
 * interleaved rope pairs (2j, 2j + 1), as the converter's `permute` does;
 * `qwen2` uses NeoX rope and keeps the Hugging Face order.
 *
 * Q8_0 follows the converter's `--outtype q8_0`: every 2-D weight
 * (token_embd and output included) is Q8_0, norms, biases and rope factors
 * stay F32.
 */
import { basename, join } from 'node:path';
import { InvalidArgumentError, UnsupportedArchitectureError, UnsupportedDtypeError } from '../errors.js';
import { readJsonFile } from '../files/fs.js';
import { parseConfig } from '../builder/config.js';
import type { DecoderConfig } from '../families/index.js';
import { GgmlType, GgufWriter, f32Bytes, meta, type GgufValue } from '../gguf/index.js';
import { q8_0Bytes, quantizeQ8_0 } from '../gguf/q8_0.js';
import { readManifest } from '../hooks/manifest.js';
import { readModel, tensorFloat32 } from '../onnx/io.js';
import type { TensorProto } from '../onnx/proto.js';
import { LIBRARY_NAME, LIBRARY_VERSION } from '../version.js';
import { ggufVocab } from './gguf-vocab.js';

export type GgufModelType = 'f32' | 'q8_0';
export const GGUF_MODEL_TYPES: readonly GgufModelType[] = ['f32', 'q8_0'];

/** Hugging Face class → llama.cpp architecture (as convert_hf_to_gguf maps them). */
export const GGUF_ARCHITECTURES: Readonly<Record<string, string>> = {
  LlamaForCausalLM: 'llama', MistralForCausalLM: 'llama', Qwen2ForCausalLM: 'qwen2',
};

/** llama.cpp's LLAMA_FTYPE values. */
const FILE_TYPE: Readonly<Record<GgufModelType, number>> = { f32: 0, q8_0: 7 };
const QUANT_OPS = new Set(['DynamicQuantizeMatMul', 'MatMulNBits', 'MatMulInteger', 'QLinearMatMul', 'DequantizeLinear', 'GatherBlockQuantized', 'QuantizeLinear']);

export function parseGgufModelType(value: string): GgufModelType {
  if (value === 'f32' || value === 'q8_0') return value;
  throw new InvalidArgumentError(`GGUF model type must be one of ${GGUF_MODEL_TYPES.join(', ')}, got "${value}"`);
}

export interface GgufModelExportOptions {
  /** Tensor type of the 2-D weights (default f32). */
  type?: GgufModelType;
  /** general.name (default: the model directory's name). */
  name?: string;
  force?: boolean;
}

export interface GgufModelReport {
  output: string;
  /** llama.cpp architecture written (`general.architecture`). */
  architecture: string;
  type: GgufModelType;
  tensors: number;
  bytes: number;
  tiedEmbeddings: boolean;
  tokenizer: 'llama' | 'gpt2';
  /** Differences llama.cpp will make that the caller should know about. */
  warnings: string[];
}

/** One GGUF tensor: its name, row-major shape and a producer of its row-major float32 values. */
interface PlannedModelTensor { name: string; shape: number[]; quantize: boolean; values: () => Float32Array }

/** Rows `offset .. offset + n` of the transpose of a row-major [rows, cols] matrix, i.e. columns of the source. */
function columnsAsRows(src: Float32Array, rows: number, cols: number, offset: number, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n * rows);
  for (let r = 0; r < rows; r++) {
    const base = r * cols + offset;
    for (let j = 0; j < n; j++) out[j * rows + r] = (src[base + j] as number) * scale;
  }
  return out;
}

/** convert_hf_to_gguf's `permute`: within each head, row (s·d/2 + j) moves to (2j + s). */
function interleaveRope(w: Float32Array, heads: number, headDim: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  const half = headDim / 2;
  for (let h = 0; h < heads; h++) {
    for (let s = 0; s < 2; s++) {
      for (let j = 0; j < half; j++) {
        const from = (h * headDim + s * half + j) * cols;
        out.set(w.subarray(from, from + cols), (h * headDim + 2 * j + s) * cols);
      }
    }
  }
  return out;
}

/** llama3 rope factors, as the converter's generate_extra_tensors computes them. */
function llama3RopeFactors(cfg: DecoderConfig): Float32Array {
  const rope = cfg.rope;
  const dim = cfg.headDim;
  const out = new Float32Array(dim / 2);
  if (!rope) return out;
  const lowWave = rope.originalMaxPositions / rope.lowFreqFactor;
  const highWave = rope.originalMaxPositions / rope.highFreqFactor;
  for (let i = 0; i < dim / 2; i++) {
    const freq = 1 / rope.theta ** ((2 * i) / dim);
    const wave = (2 * Math.PI) / freq;
    if (wave < highWave) out[i] = 1;
    else if (wave > lowWave) out[i] = rope.factor;
    else {
      const smooth = (rope.originalMaxPositions / wave - rope.lowFreqFactor) / (rope.highFreqFactor - rope.lowFreqFactor);
      out[i] = 1 / ((1 - smooth) / rope.factor + smooth);
    }
  }
  return out;
}

/** Refusals and warnings for what llama.cpp's architecture cannot express. */
function checkSupported(cfg: DecoderConfig, arch: string, dir: string): string[] {
  const warnings: string[] = [];
  if (!cfg.rope) throw new UnsupportedArchitectureError(`${dir}: GGUF export needs rotary embeddings`);
  if (cfg.bias.mlp) throw new UnsupportedArchitectureError(`${dir}: MLP biases (mlp_bias) are not exported to GGUF`);
  if (cfg.rope.rotaryDim !== cfg.headDim || cfg.rope.interleaved) throw new UnsupportedArchitectureError(`${dir}: partial or interleaved rotary embeddings are not exported to GGUF`);
  const windows = cfg.slidingWindow.filter((w): w is number => w !== undefined);
  if (windows.length > 0) {
    if (arch === 'qwen2') throw new UnsupportedArchitectureError(`${dir}: llama.cpp's qwen2 has no sliding-window attention; this model slides on ${windows.length} layer(s)`);
    warnings.push(`llama.cpp's llama architecture has no sliding window: outputs differ from onnx-steer beyond ${Math.min(...windows)} tokens of context (as with llama.cpp's own converter)`);
  }
  return warnings;
}

/**
 * Writes the built model in `modelDir` as a GGUF file (atomically). Refuses
 * models not made by `onnx-steer build`, families llama.cpp's llama/qwen2
 * architectures do not cover, and quantized builds (export the fp32 build
 * and pick `type: 'q8_0'`).
 */
export function exportGgufModel(modelDir: string, output: string, options: GgufModelExportOptions = {}): GgufModelReport {
  const type = parseGgufModelType(options.type ?? 'f32');
  const manifest = readManifest(modelDir);
  if (manifest.origin.kind !== 'build') {
    throw new UnsupportedArchitectureError(`${modelDir} was made by "onnx-steer instrument"; GGUF export reads the weight layout of "onnx-steer build" (build the model from its checkpoint first)`);
  }
  const configPath = join(modelDir, 'config.json');
  const rawConfig = readJsonFile<Record<string, unknown>>(configPath, 'model config');
  const { cfg } = parseConfig(rawConfig, configPath);
  const arch = GGUF_ARCHITECTURES[cfg.architecture];
  if (arch === undefined) {
    throw new UnsupportedArchitectureError(`GGUF model export supports ${Object.keys(GGUF_ARCHITECTURES).join(', ')}; ${modelDir} is ${cfg.architecture}`);
  }
  const warnings = checkSupported(cfg, arch, modelDir);
  const loaded = readModel(join(modelDir, manifest.model));
  const graph = loaded.model.graph;
  if (!graph) throw new UnsupportedArchitectureError(`${modelDir}: the ONNX model has no graph`);
  const quantOp = graph.node.find((n) => QUANT_OPS.has(n.opType ?? ''));
  if (quantOp) {
    throw new UnsupportedDtypeError(`${modelDir} is a quantized build (${quantOp.opType ?? ''} weights); export its fp32 build instead and pick --type q8_0 for llama.cpp's 8-bit weights`);
  }
  const inits = new Map<string, TensorProto>();
  for (const t of graph.initializer) if (t.name) inits.set(t.name, t);
  const nodeInput = (nodeName: string, index: number): string => {
    const name = graph.node.find((n) => n.name === nodeName)?.input[index];
    if (!name || !inits.has(name)) throw new UnsupportedArchitectureError(`${modelDir}: no "${nodeName}" weight; not a graph written by onnx-steer build`);
    return name;
  };
  let cached: { name: string; data: Float32Array } | undefined;
  const read = (name: string): Float32Array => {
    if (cached?.name === name) return cached.data;
    const t = inits.get(name);
    if (!t) throw new UnsupportedArchitectureError(`${modelDir}: the graph has no initializer "${name}"; not a float32 onnx-steer build`);
    const data = tensorFloat32(t, loaded.dir);
    cached = { name, data };
    return data;
  };
  const has = (name: string): boolean => inits.has(name);

  const { hiddenSize: H, intermediateSize: I, numHeads: nH, numKvHeads: nKV, headDim: hd, vocabSize: V } = cfg;
  const qOut = nH * hd;
  const kvOut = nKV * hd;
  const width = qOut + 2 * kvOut;
  const embedding = nodeInput('/model/embed_tokens/Gather', 0);
  const head = nodeInput('/lm_head/Gemm', 1);
  const tied = embedding === head;
  const permute = arch === 'llama';
  const plan: PlannedModelTensor[] = [];
  const add = (name: string, shape: number[], values: () => Float32Array): void => {
    plan.push({ name, shape, quantize: type === 'q8_0' && shape.length === 2 && name.endsWith('.weight') && !name.endsWith('_norm.weight'), values });
  };
  add('token_embd.weight', [V, H], () => read(embedding));
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `model.layers.${i}`;
    const b = `blk.${i}`;
    const scale = cfg.queryScale[i] as number;
    const qkv = `${p}.self_attn.qkv_proj.weight_t`;
    const qkvBias = `${p}.self_attn.qkv_proj.bias`;
    const maybePermute = (w: Float32Array, heads: number, cols: number): Float32Array => (permute ? interleaveRope(w, heads, hd, cols) : w);
    add(`${b}.attn_norm.weight`, [H], () => read(`${p}.input_layernorm.weight`));
    add(`${b}.attn_q.weight`, [qOut, H], () => maybePermute(columnsAsRows(read(qkv), H, width, 0, qOut, 1 / scale), nH, H));
    add(`${b}.attn_k.weight`, [kvOut, H], () => maybePermute(columnsAsRows(read(qkv), H, width, qOut, kvOut), nKV, H));
    add(`${b}.attn_v.weight`, [kvOut, H], () => columnsAsRows(read(qkv), H, width, qOut + kvOut, kvOut));
    if (has(qkvBias)) {
      add(`${b}.attn_q.bias`, [qOut], () => maybePermute(columnsAsRows(read(qkvBias), 1, width, 0, qOut, 1 / scale), nH, 1));
      add(`${b}.attn_k.bias`, [kvOut], () => maybePermute(columnsAsRows(read(qkvBias), 1, width, qOut, kvOut), nKV, 1));
      add(`${b}.attn_v.bias`, [kvOut], () => columnsAsRows(read(qkvBias), 1, width, qOut + kvOut, kvOut));
    }
    add(`${b}.attn_output.weight`, [H, qOut], () => columnsAsRows(read(`${p}.self_attn.o_proj.weight_t`), qOut, H, 0, H));
    if (has(`${p}.self_attn.o_proj.bias`)) add(`${b}.attn_output.bias`, [H], () => read(`${p}.self_attn.o_proj.bias`));
    add(`${b}.ffn_norm.weight`, [H], () => read(`${p}.post_attention_layernorm.weight`));
    const gateUp = `${p}.mlp.gate_up_proj.weight_t`;
    add(`${b}.ffn_gate.weight`, [I, H], () => columnsAsRows(read(gateUp), H, 2 * I, 0, I));
    add(`${b}.ffn_up.weight`, [I, H], () => columnsAsRows(read(gateUp), H, 2 * I, I, I));
    add(`${b}.ffn_down.weight`, [H, I], () => columnsAsRows(read(`${p}.mlp.down_proj.weight_t`), I, H, 0, H));
  }
  add('output_norm.weight', [H], () => read('model.norm.weight'));
  if (!tied) add('output.weight', [V, H], () => read(head));
  if (cfg.rope?.type === 'llama3') add('rope_freqs.weight', [hd / 2], () => llama3RopeFactors(cfg));
  for (const t of plan) {
    const cols = t.shape[t.shape.length - 1] ?? 0;
    if (t.quantize && cols % 32 !== 0) throw new InvalidArgumentError(`Q8_0 needs rows that are multiples of 32 values; ${t.name} has ${cols}`);
  }

  const vocab = ggufVocab(modelDir, V, { architecture: cfg.architecture, config: rawConfig });
  const rope = cfg.rope;
  const k = (key: string): string => `${arch}.${key}`;
  const metadata: [string, GgufValue][] = [
    ['general.architecture', meta.string(arch)],
    ['general.name', meta.string(options.name ?? basename(modelDir))],
    ['general.file_type', meta.uint32(FILE_TYPE[type])],
    ['general.quantization_version', meta.uint32(2)],
    [k('vocab_size'), meta.uint32(V)],
    [k('context_length'), meta.uint32(cfg.maxPositions)],
    [k('embedding_length'), meta.uint32(H)],
    [k('block_count'), meta.uint32(cfg.numLayers)],
    [k('feed_forward_length'), meta.uint32(I)],
    [k('attention.head_count'), meta.uint32(nH)],
    [k('attention.head_count_kv'), meta.uint32(nKV)],
    [k('rope.freq_base'), meta.float32(rope?.theta ?? 10000)],
    [k('attention.layer_norm_rms_epsilon'), meta.float32(cfg.normEps)],
    [k('rope.dimension_count'), meta.uint32(hd)],
  ];
  if (typeof rawConfig.head_dim === 'number') metadata.push([k('attention.key_length'), meta.uint32(hd)], [k('attention.value_length'), meta.uint32(hd)]);
  if (rope?.type === 'linear') metadata.push([k('rope.scaling.type'), meta.string('linear')], [k('rope.scaling.factor'), meta.float32(rope.factor)]);
  metadata.push(...vocab.metadata);
  metadata.push(['onnx_steer.fingerprint', meta.string(manifest.fingerprint)], ['onnx_steer.version', meta.string(`${LIBRARY_NAME} ${LIBRARY_VERSION}`)]);

  const ggmlDimsOf = (shape: number[]): number[] => [...shape].reverse();
  const writer = GgufWriter.create(output, {
    metadata,
    tensors: plan.map((t) => ({ name: t.name, type: t.quantize ? GgmlType.Q8_0 : GgmlType.F32, dims: ggmlDimsOf(t.shape) })),
    force: options.force ?? false,
  });
  try {
    let scratch = new Uint8Array(0);
    for (const t of plan) {
      const values = t.values();
      const n = t.shape.reduce((a, d) => a * d, 1);
      if (values.length !== n) throw new UnsupportedArchitectureError(`${modelDir}: ${t.name} has ${values.length} values, expected ${n}`);
      if (t.quantize) {
        const need = q8_0Bytes(n);
        if (scratch.byteLength < need) scratch = new Uint8Array(need);
        writer.writeTensor(t.name, quantizeQ8_0(values, scratch.subarray(0, need)));
      } else {
        writer.writeTensor(t.name, f32Bytes(values));
      }
    }
    writer.finish();
  } catch (err) {
    writer.abort();
    throw err;
  }
  return {
    output, architecture: arch, type, tensors: plan.length, bytes: writer.layout.fileSize, tiedEmbeddings: tied, tokenizer: vocab.kind, warnings,
  };
}
