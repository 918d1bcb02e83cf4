/**
 * Hugging Face config.json → the normalized decoder description the builder
 * works from. Accepts both the transformers 4 layout (`rope_theta`,
 * `rope_scaling`, `architectures`) and the transformers 5 one
 * (`rope_parameters`, no `architectures`: the class is found from
 * `model_type`).
 */
import { CorruptFileError, UnsupportedArchitectureError } from '../errors.js';

export const SUPPORTED_ARCHITECTURES = ['LlamaForCausalLM', 'MistralForCausalLM', 'Qwen2ForCausalLM', 'Phi3ForCausalLM', 'GPT2LMHeadModel'] as const;
export type Architecture = (typeof SUPPORTED_ARCHITECTURES)[number];

const MODEL_TYPES: Readonly<Record<string, Architecture>> = {
  llama: 'LlamaForCausalLM',
  mistral: 'MistralForCausalLM',
  qwen2: 'Qwen2ForCausalLM',
  phi3: 'Phi3ForCausalLM',
  gpt2: 'GPT2LMHeadModel',
};

/**
 * - `llama`: RMSNorm, rotary embeddings, SwiGLU MLP (Llama, Mistral, Qwen2, Phi3).
 * - `gpt2`: LayerNorm with bias, learned position embeddings, GELU MLP, Conv1D weights.
 */
export type Family = 'llama' | 'gpt2';

/** `gelu_tanh` is GPT-2's gelu_new (= gelu_pytorch_tanh); `gelu` is the exact erf form. */
export type Activation = 'silu' | 'gelu_tanh' | 'gelu';

export interface RopeConfig {
  theta: number;
  type: 'default' | 'linear' | 'llama3';
  factor: number;
  /** llama3 only. */
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositions: number;
}

export interface DecoderConfig {
  architecture: Architecture;
  family: Family;
  activation: Activation;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  /** Epsilon of RMSNorm (llama family) or LayerNorm (gpt2). */
  normEps: number;
  vocabSize: number;
  maxPositions: number;
  /** true, false, or undefined when the config does not say. */
  tieWordEmbeddings: boolean | undefined;
  /** Biases on q/k/v (Qwen2, or Llama with attention_bias). */
  qkvBias: boolean;
  /** Bias on o_proj (Llama with attention_bias). */
  outBias: boolean;
  /** Biases on the MLP projections (Llama with mlp_bias). */
  mlpBias: boolean;
  /** Fused qkv_proj / gate_up_proj tensors (Phi3). */
  fusedProjections: boolean;
  /** Per-layer sliding attention window (number of keys visible), or undefined for full attention. */
  slidingWindow: (number | undefined)[];
  /** Rotary embeddings (llama family); undefined for learned positions (gpt2). */
  rope: RopeConfig | undefined;
  /** Extra 1/(layer+1) attention scaling (GPT-2 scale_attn_by_inverse_layer_idx). */
  scaleByInverseLayer: boolean;
  initializerRange: number;
}

type Json = Record<string, unknown>;

function num(cfg: Json, key: string, path: string, fallback?: number): number {
  const v = cfg[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new CorruptFileError(path, `config is missing "${key}"`);
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new CorruptFileError(path, `config field "${key}" must be a number, got ${JSON.stringify(v)}`);
  return v;
}

function posInt(cfg: Json, key: string, path: string, fallback?: number): number {
  const v = num(cfg, key, path, fallback);
  if (!Number.isInteger(v) || v <= 0) throw new CorruptFileError(path, `config field "${key}" must be a positive integer, got ${v}`);
  return v;
}

/** Resolves the architecture class name from `architectures[0]` or `model_type`. */
export function resolveArchitecture(cfg: Json): string | undefined {
  const list = cfg.architectures;
  if (Array.isArray(list) && typeof list[0] === 'string') return list[0];
  const type = cfg.model_type;
  if (typeof type === 'string') return MODEL_TYPES[type] ?? type;
  return undefined;
}

export function parseDecoderConfig(raw: unknown, path: string): DecoderConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CorruptFileError(path, 'config is not a JSON object');
  const cfg = raw as Json;
  const name = resolveArchitecture(cfg);
  if (!name || !(SUPPORTED_ARCHITECTURES as readonly string[]).includes(name)) {
    throw new UnsupportedArchitectureError(`unsupported architecture ${name ?? '(none named in config.json)'}; supported: ${SUPPORTED_ARCHITECTURES.join(', ')}`);
  }
  const architecture = name as Architecture;
  return architecture === 'GPT2LMHeadModel' ? parseGpt2(cfg, path) : parseLlamaFamily(cfg, architecture, path);
}

function parseLlamaFamily(cfg: Json, architecture: Architecture, path: string): DecoderConfig {
  const act = cfg.hidden_act ?? 'silu';
  if (act !== 'silu') throw new UnsupportedArchitectureError(`${architecture} with hidden_act ${JSON.stringify(act)} is not supported (silu only)`);

  const hiddenSize = posInt(cfg, 'hidden_size', path);
  const numHeads = posInt(cfg, 'num_attention_heads', path);
  const numKvHeads = posInt(cfg, 'num_key_value_heads', path, numHeads);
  const numLayers = posInt(cfg, 'num_hidden_layers', path);
  const headDim = posInt(cfg, 'head_dim', path, hiddenSize / numHeads);
  checkHeads(path, headDim, numHeads, numKvHeads);
  const tie = cfg.tie_word_embeddings;

  const isQwen = architecture === 'Qwen2ForCausalLM';
  const isPhi3 = architecture === 'Phi3ForCausalLM';
  const attentionBias = cfg.attention_bias === true;
  const windowSize = typeof cfg.sliding_window === 'number' && cfg.sliding_window > 0 ? cfg.sliding_window : undefined;
  const slidingWindow: (number | undefined)[] = [];
  for (let i = 0; i < numLayers; i++) slidingWindow.push(layerWindow(cfg, architecture, i, windowSize));

  return {
    architecture,
    family: 'llama',
    activation: 'silu',
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
    qkvBias: isQwen || attentionBias,
    outBias: !isQwen && attentionBias,
    mlpBias: cfg.mlp_bias === true,
    fusedProjections: isPhi3,
    slidingWindow,
    rope: parseRope(cfg, path),
    scaleByInverseLayer: false,
    initializerRange: num(cfg, 'initializer_range', path, 0.02),
  };
}

const GPT2_ACTIVATIONS: Readonly<Record<string, Activation>> = { gelu_new: 'gelu_tanh', gelu_pytorch_tanh: 'gelu_tanh', gelu: 'gelu' };

function parseGpt2(cfg: Json, path: string): DecoderConfig {
  const actName = cfg.activation_function ?? 'gelu_new';
  const activation = typeof actName === 'string' ? GPT2_ACTIVATIONS[actName] : undefined;
  if (!activation) {
    throw new UnsupportedArchitectureError(`GPT2LMHeadModel with activation_function ${JSON.stringify(actName)} is not supported (${Object.keys(GPT2_ACTIVATIONS).join(', ')})`);
  }
  if (cfg.add_cross_attention === true) throw new UnsupportedArchitectureError('GPT2LMHeadModel with cross-attention is not supported');
  const hiddenSize = posInt(cfg, 'n_embd', path);
  const numHeads = posInt(cfg, 'n_head', path);
  const numLayers = posInt(cfg, 'n_layer', path);
  const headDim = hiddenSize / numHeads;
  checkHeads(path, headDim, numHeads, numHeads);
  if (cfg.scale_attn_weights === false) throw new UnsupportedArchitectureError('GPT2LMHeadModel with scale_attn_weights=false is not supported');
  return {
    architecture: 'GPT2LMHeadModel',
    family: 'gpt2',
    activation,
    hiddenSize,
    intermediateSize: posInt(cfg, 'n_inner', path, 4 * hiddenSize),
    numLayers,
    numHeads,
    numKvHeads: numHeads,
    headDim,
    normEps: num(cfg, 'layer_norm_epsilon', path, 1e-5),
    vocabSize: posInt(cfg, 'vocab_size', path),
    maxPositions: posInt(cfg, 'n_positions', path, 1024),
    tieWordEmbeddings: true,
    qkvBias: true,
    outBias: true,
    mlpBias: true,
    fusedProjections: true,
    slidingWindow: Array.from({ length: numLayers }, () => undefined),
    rope: undefined,
    scaleByInverseLayer: cfg.scale_attn_by_inverse_layer_idx === true,
    initializerRange: num(cfg, 'initializer_range', path, 0.02),
  };
}

function checkHeads(path: string, headDim: number, numHeads: number, numKvHeads: number): void {
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) throw new CorruptFileError(path, `head size ${headDim} must be an even integer`);
  if (numHeads % numKvHeads !== 0) throw new CorruptFileError(path, `num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`);
}

function layerWindow(cfg: Json, arch: Architecture, layer: number, window: number | undefined): number | undefined {
  if (window === undefined) return undefined;
  const types = cfg.layer_types;
  if (Array.isArray(types) && types.length > layer) return types[layer] === 'sliding_attention' ? window : undefined;
  if (arch === 'Qwen2ForCausalLM') {
    if (cfg.use_sliding_window !== true) return undefined;
    const maxWindowLayers = typeof cfg.max_window_layers === 'number' ? cfg.max_window_layers : 0;
    return layer >= maxWindowLayers ? window : undefined;
  }
  return window;
}

function parseRope(cfg: Json, path: string): RopeConfig {
  const params = (typeof cfg.rope_parameters === 'object' && cfg.rope_parameters !== null ? cfg.rope_parameters : undefined) as Json | undefined;
  const scaling = (typeof cfg.rope_scaling === 'object' && cfg.rope_scaling !== null ? cfg.rope_scaling : undefined) as Json | undefined;
  const src: Json = { ...(scaling ?? {}), ...(params ?? {}) };
  const theta = num(params && params.rope_theta !== undefined ? params : cfg, 'rope_theta', path, 10000);
  const rawType = src.rope_type ?? src.type ?? 'default';
  const partial = src.partial_rotary_factor ?? cfg.partial_rotary_factor;
  if (partial !== undefined && partial !== null && partial !== 1) {
    throw new UnsupportedArchitectureError(`partial rotary embeddings (partial_rotary_factor ${JSON.stringify(partial)}) are not supported`);
  }
  const base: RopeConfig = { theta, type: 'default', factor: 1, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 };
  if (rawType === 'default') return base;
  if (rawType === 'linear') return { ...base, type: 'linear', factor: num(src, 'factor', path) };
  if (rawType === 'llama3') {
    return {
      ...base,
      type: 'llama3',
      factor: num(src, 'factor', path),
      lowFreqFactor: num(src, 'low_freq_factor', path, 1),
      highFreqFactor: num(src, 'high_freq_factor', path, 4),
      originalMaxPositions: num(src, 'original_max_position_embeddings', path, 8192),
    };
  }
  throw new UnsupportedArchitectureError(`rope scaling type ${JSON.stringify(rawType)} is not supported (supported: default, linear, llama3)`);
}
