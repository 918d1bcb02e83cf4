/**
 * Phi-1/Phi-2: parallel residual blocks h + attn(ln h) + mlp(ln h) with one
 * shared LayerNorm, rotate_half partial rotary (partial_rotary_factor),
 * biases on every projection, a GELU MLP, a final LayerNorm and an LM head
 * with bias. q/k LayerNorms (qk_layernorm) are not implemented.
 */
import { UnsupportedArchitectureError } from '../errors.js';
import { activation, checkHeads, num, parseRope, posInt } from './fields.js';
import { PARALLEL_STRUCTURE } from './parallel.js';
import { linearT, norm, packQkv, tensor } from './tensors.js';
import type { BlockTensors, DecoderConfig, FamilyAdapter, Json, ModelNames, TensorReader, TensorSpec } from './types.js';

function parse(cfg: Json, path: string, architecture: string): DecoderConfig {
  if (cfg.qk_layernorm === true) throw new UnsupportedArchitectureError(`${architecture} with qk_layernorm=true is not supported`);
  const act = activation(architecture, 'hidden_act', cfg.hidden_act ?? 'gelu_new', ['gelu_new', 'gelu_pytorch_tanh', 'gelu']);
  const hiddenSize = posInt(cfg, 'hidden_size', path);
  const numHeads = posInt(cfg, 'num_attention_heads', path);
  const numKvHeads = posInt(cfg, 'num_key_value_heads', path, numHeads);
  const numLayers = posInt(cfg, 'num_hidden_layers', path);
  const headDim = hiddenSize / numHeads;
  checkHeads(path, headDim, numHeads, numKvHeads);
  const tie = cfg.tie_word_embeddings;
  return {
    architecture,
    hiddenSize,
    intermediateSize: posInt(cfg, 'intermediate_size', path),
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    normEps: num(cfg, 'layer_norm_eps', path, 1e-5),
    vocabSize: posInt(cfg, 'vocab_size', path),
    maxPositions: posInt(cfg, 'max_position_embeddings', path, 2048),
    tieWordEmbeddings: typeof tie === 'boolean' ? tie : false,
    slidingWindow: Array.from({ length: numLayers }, () => undefined),
    rope: parseRope(cfg, path, headDim, { partial: true }),
    queryScale: Array.from({ length: numLayers }, () => 1 / Math.sqrt(headDim)),
    block: { ...PARALLEL_STRUCTURE, activation: act, headBias: true },
    bias: { qkv: true, out: true, mlp: true },
    initializerRange: num(cfg, 'initializer_range', path, 0.02),
  };
}

const names = (): ModelNames => ({
  embed: 'model.embed_tokens.weight', finalNorm: 'model.final_layernorm.weight', finalNormBias: 'model.final_layernorm.bias',
  head: 'lm_head.weight', headBias: 'lm_head.bias', layer: (i) => `model.layers.${i}`,
});

function layerSpecs(cfg: DecoderConfig, n: ModelNames, i: number): TensorSpec[] {
  const p = n.layer(i);
  const { hiddenSize: H, intermediateSize: I } = cfg;
  const qOut = cfg.numHeads * cfg.headDim;
  const kvOut = cfg.numKvHeads * cfg.headDim;
  const linear = (m: string, out: number, inp: number): TensorSpec[] => [
    { name: `${p}.${m}.weight`, shape: [out, inp], init: 'normal' },
    { name: `${p}.${m}.bias`, shape: [out], init: 'zeros' },
  ];
  return [
    { name: `${p}.input_layernorm.weight`, shape: [H], init: 'ones' },
    { name: `${p}.input_layernorm.bias`, shape: [H], init: 'zeros' },
    ...linear('self_attn.q_proj', qOut, H), ...linear('self_attn.k_proj', kvOut, H), ...linear('self_attn.v_proj', kvOut, H),
    ...linear('self_attn.dense', H, qOut), ...linear('mlp.fc1', I, H), ...linear('mlp.fc2', H, I),
  ];
}

function blockTensors(cfg: DecoderConfig, src: TensorReader, n: ModelNames, i: number): BlockTensors {
  const p = n.layer(i);
  const name = (s: string): string => `${p}.${s}`;
  const { hiddenSize: H, intermediateSize: I } = cfg;
  const qOut = cfg.numHeads * cfg.headDim;
  const r = (s: string) => src.read(name(s));
  const { qkv, qkvBias } = packQkv(cfg, i, {
    q: r('self_attn.q_proj.weight'), k: r('self_attn.k_proj.weight'), v: r('self_attn.v_proj.weight'),
    qBias: r('self_attn.q_proj.bias'), kBias: r('self_attn.k_proj.bias'), vBias: r('self_attn.v_proj.bias'),
  }, name('self_attn.qkv_proj'));
  const t: BlockTensors = {
    attnNorm: norm(src, name('input_layernorm.weight'), H, { bias: name('input_layernorm.bias') }),
    qkv,
    out: linearT(src, name('self_attn.dense.weight'), H, qOut),
    outBias: tensor(name('self_attn.dense.bias'), [H], r('self_attn.dense.bias')),
    mlpIn: linearT(src, name('mlp.fc1.weight'), I, H),
    mlpInBias: tensor(name('mlp.fc1.bias'), [I], r('mlp.fc1.bias')),
    mlpOut: linearT(src, name('mlp.fc2.weight'), H, I),
    mlpOutBias: tensor(name('mlp.fc2.bias'), [H], r('mlp.fc2.bias')),
  };
  if (qkvBias) t.qkvBias = qkvBias;
  return t;
}

export const phi: FamilyAdapter = {
  architectures: ['PhiForCausalLM'],
  modelTypes: { phi: 'PhiForCausalLM' },
  residual: () => 'parallel',
  parse,
  names,
  layerSpecs,
  blockTensors,
};
