/**
 * GPT-2: sequential pre-LayerNorm blocks, learned position embeddings,
 * GELU MLP, tied head. Conv1D weights are stored [in, out] already; c_attn
 * is the packed q|k|v with the softmax scale (and, with
 * scale_attn_by_inverse_layer_idx, 1/(layer+1)) folded into the q columns.
 */
import { UnsupportedArchitectureError } from '../errors.js';
import { activation, checkHeads, num, posInt } from './fields.js';
import { norm, tensor } from './tensors.js';
import type { BlockTensors, DecoderConfig, FamilyAdapter, Json, ModelNames, TensorReader, TensorSpec } from './types.js';

function parse(cfg: Json, path: string): DecoderConfig {
  const act = activation('GPT2LMHeadModel', 'activation_function', cfg.activation_function ?? 'gelu_new', ['gelu_new', 'gelu_pytorch_tanh', 'gelu']);
  if (cfg.add_cross_attention === true) throw new UnsupportedArchitectureError('GPT2LMHeadModel with cross-attention is not supported');
  const hiddenSize = posInt(cfg, 'n_embd', path);
  const numHeads = posInt(cfg, 'n_head', path);
  const numLayers = posInt(cfg, 'n_layer', path);
  const headDim = hiddenSize / numHeads;
  checkHeads(path, headDim, numHeads, numHeads);
  if (cfg.scale_attn_weights === false) throw new UnsupportedArchitectureError('GPT2LMHeadModel with scale_attn_weights=false is not supported');
  const inverse = cfg.scale_attn_by_inverse_layer_idx === true;
  return {
    architecture: 'GPT2LMHeadModel',
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
    slidingWindow: Array.from({ length: numLayers }, () => undefined),
    rope: undefined,
    queryScale: Array.from({ length: numLayers }, (_, i) => (1 / Math.sqrt(headDim)) * (inverse ? 1 / (i + 1) : 1)),
    block: {
      residual: 'sequential', norm: 'layer', normUnitOffset: false, separateMlpNorm: true, sandwich: false, qkNorm: false, mlp: 'plain', activation: act,
      embeddingScale: 1, learnedPositions: true, attnSoftcap: undefined, finalSoftcap: undefined, headBias: false,
    },
    bias: { qkv: true, out: true, mlp: true },
    initializerRange: num(cfg, 'initializer_range', path, 0.02),
  };
}

function names(_cfg: DecoderConfig, has?: (name: string) => boolean): ModelNames {
  const p = has && !has('transformer.wte.weight') && has('wte.weight') ? '' : 'transformer.';
  return {
    embed: `${p}wte.weight`, positions: `${p}wpe.weight`, finalNorm: `${p}ln_f.weight`, finalNormBias: `${p}ln_f.bias`, head: 'lm_head.weight', layer: (i) => `${p}h.${i}`,
  };
}

function layerSpecs(cfg: DecoderConfig, n: ModelNames, i: number): TensorSpec[] {
  const p = n.layer(i);
  const H = cfg.hiddenSize;
  const I = cfg.intermediateSize;
  return [
    { name: `${p}.ln_1.weight`, shape: [H], init: 'ones' },
    { name: `${p}.ln_1.bias`, shape: [H], init: 'zeros' },
    { name: `${p}.attn.c_attn.weight`, shape: [H, 3 * H], init: 'normal' },
    { name: `${p}.attn.c_attn.bias`, shape: [3 * H], init: 'zeros' },
    { name: `${p}.attn.c_proj.weight`, shape: [H, H], init: 'normal' },
    { name: `${p}.attn.c_proj.bias`, shape: [H], init: 'zeros' },
    { name: `${p}.ln_2.weight`, shape: [H], init: 'ones' },
    { name: `${p}.ln_2.bias`, shape: [H], init: 'zeros' },
    { name: `${p}.mlp.c_fc.weight`, shape: [H, I], init: 'normal' },
    { name: `${p}.mlp.c_fc.bias`, shape: [I], init: 'zeros' },
    { name: `${p}.mlp.c_proj.weight`, shape: [I, H], init: 'normal' },
    { name: `${p}.mlp.c_proj.bias`, shape: [H], init: 'zeros' },
  ];
}

function blockTensors(cfg: DecoderConfig, src: TensorReader, n: ModelNames, i: number): BlockTensors {
  const hf = n.layer(i);
  const name = (suffix: string): string => `${hf}.${suffix}`;
  const { hiddenSize: H, intermediateSize: I } = cfg;
  const scale = cfg.queryScale[i] as number;
  const w = (suffix: string, dims: number[]) => tensor(name(suffix), dims, src.read(name(suffix)));
  const cAttn = src.read(name('attn.c_attn.weight'));
  for (let r = 0; r < H; r++) for (let c = 0; c < H; c++) cAttn[r * 3 * H + c] = (cAttn[r * 3 * H + c] as number) * scale;
  const cAttnBias = src.read(name('attn.c_attn.bias'));
  for (let c = 0; c < H; c++) cAttnBias[c] = (cAttnBias[c] as number) * scale;
  return {
    attnNorm: norm(src, name('ln_1.weight'), H, { bias: name('ln_1.bias') }),
    qkv: tensor(name('attn.c_attn.weight_qscaled'), [H, 3 * H], cAttn),
    qkvBias: tensor(name('attn.c_attn.bias_qscaled'), [3 * H], cAttnBias),
    out: w('attn.c_proj.weight', [H, H]),
    outBias: w('attn.c_proj.bias', [H]),
    mlpNorm: norm(src, name('ln_2.weight'), H, { bias: name('ln_2.bias') }),
    mlpIn: w('mlp.c_fc.weight', [H, I]),
    mlpInBias: w('mlp.c_fc.bias', [I]),
    mlpOut: w('mlp.c_proj.weight', [I, H]),
    mlpOutBias: w('mlp.c_proj.bias', [H]),
  };
}

export const gpt2: FamilyAdapter = {
  architectures: ['GPT2LMHeadModel'],
  modelTypes: { gpt2: 'GPT2LMHeadModel' },
  residual: () => 'sequential',
  parse,
  names,
  layerSpecs,
  blockTensors,
};
