/**
 * The Llama checkpoint layout, shared by the families that store it
 * (Llama, Mistral, Qwen2, Qwen3, Phi3, Gemma, Gemma2): `model.layers.{i}`
 * with self_attn.{q,k,v,o}_proj (or Phi3's fused qkv_proj), mlp.{gate,up,down}_proj
 * (or gate_up_proj), RMSNorms, `model.norm` and `lm_head`.
 * Each family file states its structure through {@link LlamaLayoutOptions}.
 */
import { UnsupportedArchitectureError } from '../errors.js';
import { activation, checkHeads, num, parseRope, posInt, slidingWindows } from './fields.js';
import { linearT, norm, packQkv, rotaryPermutation, tensor, transposeInto } from './tensors.js';
import type { BlockStructure, BlockTensors, DecoderConfig, FamilyAdapter, Json, ModelNames, TensorReader, TensorSpec } from './types.js';

export interface LlamaLayoutOptions {
  architectures: readonly string[];
  /** See FamilyAdapter.order. */
  order?: number;
  modelTypes: Readonly<Record<string, string>>;
  /** Config key naming the MLP activation, the allowed values and the default. */
  activationKey?: string;
  activations?: readonly string[];
  defaultActivation?: string;
  /** q/k/v biases whatever the config says (Qwen2). */
  qkvBias?: boolean;
  /** Fused qkv_proj and gate_up_proj tensors (Phi3). */
  fused?: boolean;
  /** Partial rotary allowed (Phi3). */
  partialRotary?: boolean;
  /** Which layers slide when `layer_types` is absent. */
  slidingLayers?: (cfg: Json, layer: number) => boolean;
  /** Structure beyond the Llama defaults. */
  structure?: (cfg: Json, path: string) => Partial<BlockStructure>;
  /** Softmax scale (default 1/√head_dim). */
  queryScale?: (cfg: Json, headDim: number, path: string) => number;
  /** Gemma: norms are stored as w in (1 + w). */
  unitOffsetNorms?: boolean;
}

const LLAMA_STRUCTURE: BlockStructure = {
  residual: 'sequential', norm: 'rms', normUnitOffset: false, separateMlpNorm: true, sandwich: false, qkNorm: false, mlp: 'gated', activation: 'silu',
  embeddingScale: 1, learnedPositions: false, attnSoftcap: undefined, finalSoftcap: undefined, headBias: false,
};

export function llamaLayout(options: LlamaLayoutOptions): FamilyAdapter {
  const normInit = options.unitOffsetNorms ? 'zeros' : 'ones';

  const parse = (cfg: Json, path: string, architecture: string): DecoderConfig => {
    const key = options.activationKey ?? 'hidden_act';
    const act = activation(architecture, key, cfg[key] ?? options.defaultActivation ?? 'silu', options.activations ?? ['silu']);
    const hiddenSize = posInt(cfg, 'hidden_size', path);
    const numHeads = posInt(cfg, 'num_attention_heads', path);
    const numKvHeads = posInt(cfg, 'num_key_value_heads', path, numHeads);
    const numLayers = posInt(cfg, 'num_hidden_layers', path);
    const headDim = posInt(cfg, 'head_dim', path, hiddenSize / numHeads);
    checkHeads(path, headDim, numHeads, numKvHeads);
    const tie = cfg.tie_word_embeddings;
    const attentionBias = cfg.attention_bias === true;
    const scale = options.queryScale ? options.queryScale(cfg, headDim, path) : 1 / Math.sqrt(headDim);
    const slide = options.slidingLayers;
    return {
      architecture,
      hiddenSize,
      intermediateSize: posInt(cfg, 'intermediate_size', path),
      numLayers,
      numHeads,
      numKvHeads,
      headDim,
      normEps: num(cfg, 'rms_norm_eps', path, 1e-6),
      vocabSize: posInt(cfg, 'vocab_size', path),
      maxPositions: posInt(cfg, 'max_position_embeddings', path, 2048),
      tieWordEmbeddings: typeof tie === 'boolean' ? tie : undefined,
      slidingWindow: slidingWindows(cfg, numLayers, slide ? (i) => slide(cfg, i) : undefined),
      rope: parseRope(cfg, path, headDim, { partial: options.partialRotary ?? false }),
      queryScale: Array.from({ length: numLayers }, () => scale),
      block: { ...LLAMA_STRUCTURE, activation: act, normUnitOffset: options.unitOffsetNorms === true, ...options.structure?.(cfg, path) },
      bias: { qkv: options.qkvBias === true || attentionBias, out: options.qkvBias !== true && attentionBias, mlp: cfg.mlp_bias === true },
      initializerRange: num(cfg, 'initializer_range', path, 0.02),
    };
  };

  const names = (): ModelNames => ({
    embed: 'model.embed_tokens.weight', finalNorm: 'model.norm.weight', head: 'lm_head.weight', layer: (i) => `model.layers.${i}`,
  });

  const layerSpecs = (cfg: DecoderConfig, n: ModelNames, i: number): TensorSpec[] => {
    const p = n.layer(i);
    const { hiddenSize: H, intermediateSize: I, headDim: hd } = cfg;
    const qOut = cfg.numHeads * hd;
    const kvOut = cfg.numKvHeads * hd;
    const specs: TensorSpec[] = [
      { name: `${p}.input_layernorm.weight`, shape: [H], init: normInit },
      { name: `${p}.post_attention_layernorm.weight`, shape: [H], init: normInit },
      { name: `${p}.self_attn.o_proj.weight`, shape: [H, qOut], init: 'normal' },
      { name: `${p}.mlp.down_proj.weight`, shape: [H, I], init: 'normal' },
    ];
    if (cfg.block.sandwich) {
      specs.push({ name: `${p}.pre_feedforward_layernorm.weight`, shape: [H], init: normInit });
      specs.push({ name: `${p}.post_feedforward_layernorm.weight`, shape: [H], init: normInit });
    }
    if (cfg.block.qkNorm) {
      specs.push({ name: `${p}.self_attn.q_norm.weight`, shape: [hd], init: normInit });
      specs.push({ name: `${p}.self_attn.k_norm.weight`, shape: [hd], init: normInit });
    }
    if (options.fused) {
      specs.push({ name: `${p}.self_attn.qkv_proj.weight`, shape: [qOut + 2 * kvOut, H], init: 'normal' });
      specs.push({ name: `${p}.mlp.gate_up_proj.weight`, shape: [2 * I, H], init: 'normal' });
    } else {
      specs.push({ name: `${p}.self_attn.q_proj.weight`, shape: [qOut, H], init: 'normal' });
      specs.push({ name: `${p}.self_attn.k_proj.weight`, shape: [kvOut, H], init: 'normal' });
      specs.push({ name: `${p}.self_attn.v_proj.weight`, shape: [kvOut, H], init: 'normal' });
      specs.push({ name: `${p}.mlp.gate_proj.weight`, shape: [I, H], init: 'normal' });
      specs.push({ name: `${p}.mlp.up_proj.weight`, shape: [I, H], init: 'normal' });
    }
    if (cfg.bias.qkv) {
      specs.push({ name: `${p}.self_attn.q_proj.bias`, shape: [qOut], init: 'zeros' });
      specs.push({ name: `${p}.self_attn.k_proj.bias`, shape: [kvOut], init: 'zeros' });
      specs.push({ name: `${p}.self_attn.v_proj.bias`, shape: [kvOut], init: 'zeros' });
    }
    if (cfg.bias.out) specs.push({ name: `${p}.self_attn.o_proj.bias`, shape: [H], init: 'zeros' });
    if (cfg.bias.mlp) {
      specs.push({ name: `${p}.mlp.gate_proj.bias`, shape: [I], init: 'zeros' });
      specs.push({ name: `${p}.mlp.up_proj.bias`, shape: [I], init: 'zeros' });
      specs.push({ name: `${p}.mlp.down_proj.bias`, shape: [H], init: 'zeros' });
    }
    return specs;
  };

  const blockTensors = (cfg: DecoderConfig, src: TensorReader, n: ModelNames, i: number): BlockTensors => {
    const p = n.layer(i);
    const name = (s: string): string => `${p}.${s}`;
    const { hiddenSize: H, intermediateSize: I, numHeads: nH, numKvHeads: nKV, headDim: hd } = cfg;
    const qOut = nH * hd;
    const kvOut = nKV * hd;
    const unitOffset = options.unitOffsetNorms === true;
    const perm = rotaryPermutation(cfg);
    const rms = (s: string, size = H, scale?: number) => norm(src, name(s), size, {
      unitOffset, ...(scale !== undefined ? { scale } : {}), ...(size === hd && perm ? { perm } : {}),
    });

    let q: Float32Array; let k: Float32Array; let v: Float32Array;
    if (options.fused) {
      const packed = src.read(name('self_attn.qkv_proj.weight'));
      q = packed.subarray(0, qOut * H); k = packed.subarray(qOut * H, (qOut + kvOut) * H); v = packed.subarray((qOut + kvOut) * H);
    } else {
      q = src.read(name('self_attn.q_proj.weight')); k = src.read(name('self_attn.k_proj.weight')); v = src.read(name('self_attn.v_proj.weight'));
    }
    const biases = cfg.bias.qkv
      ? { qBias: src.read(name('self_attn.q_proj.bias')), kBias: src.read(name('self_attn.k_proj.bias')), vBias: src.read(name('self_attn.v_proj.bias')) }
      : {};
    const { qkv, qkvBias } = packQkv(cfg, i, { q, k, v, ...biases }, name('self_attn.qkv_proj'));

    const gateUp = new Float32Array(H * 2 * I);
    if (options.fused) {
      transposeInto(src.read(name('mlp.gate_up_proj.weight')), 2 * I, H, gateUp, 2 * I, 0);
    } else {
      transposeInto(src.read(name('mlp.gate_proj.weight')), I, H, gateUp, 2 * I, 0);
      transposeInto(src.read(name('mlp.up_proj.weight')), I, H, gateUp, 2 * I, I);
    }
    const t: BlockTensors = {
      attnNorm: rms('input_layernorm.weight'),
      qkv,
      out: linearT(src, name('self_attn.o_proj.weight'), H, qOut),
      mlpIn: tensor(name('mlp.gate_up_proj.weight_t'), [H, 2 * I], gateUp),
      mlpOut: linearT(src, name('mlp.down_proj.weight'), H, I),
    };
    if (qkvBias) t.qkvBias = qkvBias;
    if (cfg.bias.out) t.outBias = tensor(name('self_attn.o_proj.bias'), [H], src.read(name('self_attn.o_proj.bias')));
    if (cfg.bias.mlp) {
      const b = new Float32Array(2 * I);
      b.set(src.read(name('mlp.gate_proj.bias')), 0);
      b.set(src.read(name('mlp.up_proj.bias')), I);
      t.mlpInBias = tensor(name('mlp.gate_up_proj.bias'), [2 * I], b);
      t.mlpOutBias = tensor(name('mlp.down_proj.bias'), [H], src.read(name('mlp.down_proj.bias')));
    }
    if (cfg.block.sandwich) {
      t.postAttnNorm = rms('post_attention_layernorm.weight');
      t.mlpNorm = rms('pre_feedforward_layernorm.weight');
      t.postMlpNorm = rms('post_feedforward_layernorm.weight');
    } else {
      t.mlpNorm = rms('post_attention_layernorm.weight');
    }
    if (cfg.block.qkNorm) {
      t.qNorm = rms('self_attn.q_norm.weight', hd, cfg.queryScale[i]);
      t.kNorm = rms('self_attn.k_norm.weight', hd);
    }
    return t;
  };

  return {
    architectures: options.architectures,
    order: options.order,
    modelTypes: options.modelTypes,
    residual: () => 'sequential',
    parse,
    names,
    layerSpecs,
    blockTensors,
  };
}

/** Rejects a config flag the family's adapter does not implement. */
export function rejectFlag(cfg: Json, key: string, arch: string): void {
  if (cfg[key] === true) throw new UnsupportedArchitectureError(`${arch} with ${key}=true is not supported`);
}
