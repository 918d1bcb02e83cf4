/**
 * GPT-J: parallel residual blocks h + attn(ln_1 h) + mlp(ln_1 h) with one
 * shared LayerNorm, interleaved (rotate_every_two) partial rotary over the
 * first rotary_dim dimensions, bias-free attention projections, a GELU MLP
 * and an untied LM head with bias.
 */
import { activation, checkHeads, num, parseRope, posInt } from './fields.js';
import { PARALLEL_STRUCTURE } from './parallel.js';
import { linearT, norm, packQkv, tensor } from './tensors.js';
import type { BlockTensors, DecoderConfig, FamilyAdapter, Json, ModelNames, TensorReader, TensorSpec } from './types.js';

function parse(cfg: Json, path: string, architecture: string): DecoderConfig {
  const act = activation(architecture, 'activation_function', cfg.activation_function ?? 'gelu_new', ['gelu_new', 'gelu_pytorch_tanh', 'gelu']);
  const hiddenSize = posInt(cfg, 'n_embd', path);
  const numHeads = posInt(cfg, 'n_head', path);
  const numLayers = posInt(cfg, 'n_layer', path);
  const headDim = hiddenSize / numHeads;
  checkHeads(path, headDim, numHeads, numHeads);
  const rotaryDim = typeof cfg.rotary_dim === 'number' ? cfg.rotary_dim : headDim;
  const tie = cfg.tie_word_embeddings;
  return {
    architecture,
    hiddenSize,
    intermediateSize: posInt(cfg, 'n_inner', path, 4 * hiddenSize),
    numLayers,
    numHeads,
    numKvHeads: numHeads,
    headDim,
    normEps: num(cfg, 'layer_norm_epsilon', path, 1e-5),
    vocabSize: posInt(cfg, 'vocab_size', path),
    maxPositions: posInt(cfg, 'n_positions', path, 2048),
    tieWordEmbeddings: typeof tie === 'boolean' ? tie : false,
    slidingWindow: Array.from({ length: numLayers }, () => undefined),
    rope: parseRope(cfg, path, headDim, { rotaryDim, interleaved: true }),
    queryScale: Array.from({ length: numLayers }, () => 1 / Math.sqrt(headDim)),
    block: { ...PARALLEL_STRUCTURE, activation: act, headBias: true },
    bias: { qkv: false, out: false, mlp: true },
    initializerRange: num(cfg, 'initializer_range', path, 0.02),
  };
}

const names = (): ModelNames => ({
  embed: 'transformer.wte.weight', finalNorm: 'transformer.ln_f.weight', finalNormBias: 'transformer.ln_f.bias',
  head: 'lm_head.weight', headBias: 'lm_head.bias', layer: (i) => `transformer.h.${i}`,
});

function layerSpecs(cfg: DecoderConfig, n: ModelNames, i: number): TensorSpec[] {
  const p = n.layer(i);
  const { hiddenSize: H, intermediateSize: I } = cfg;
  return [
    { name: `${p}.ln_1.weight`, shape: [H], init: 'ones' },
    { name: `${p}.ln_1.bias`, shape: [H], init: 'zeros' },
    ...['q_proj', 'k_proj', 'v_proj', 'out_proj'].map((m) => ({ name: `${p}.attn.${m}.weight`, shape: [H, H], init: 'normal' as const })),
    { name: `${p}.mlp.fc_in.weight`, shape: [I, H], init: 'normal' },
    { name: `${p}.mlp.fc_in.bias`, shape: [I], init: 'zeros' },
    { name: `${p}.mlp.fc_out.weight`, shape: [H, I], init: 'normal' },
    { name: `${p}.mlp.fc_out.bias`, shape: [H], init: 'zeros' },
  ];
}

function blockTensors(cfg: DecoderConfig, src: TensorReader, n: ModelNames, i: number): BlockTensors {
  const p = n.layer(i);
  const name = (s: string): string => `${p}.${s}`;
  const { hiddenSize: H, intermediateSize: I } = cfg;
  const { qkv } = packQkv(cfg, i, { q: src.read(name('attn.q_proj.weight')), k: src.read(name('attn.k_proj.weight')), v: src.read(name('attn.v_proj.weight')) }, name('attn.qkv_proj'));
  return {
    attnNorm: norm(src, name('ln_1.weight'), H, { bias: name('ln_1.bias') }),
    qkv,
    out: linearT(src, name('attn.out_proj.weight'), H, H),
    mlpIn: linearT(src, name('mlp.fc_in.weight'), I, H),
    mlpInBias: tensor(name('mlp.fc_in.bias'), [I], src.read(name('mlp.fc_in.bias'))),
    mlpOut: linearT(src, name('mlp.fc_out.weight'), H, I),
    mlpOutBias: tensor(name('mlp.fc_out.bias'), [H], src.read(name('mlp.fc_out.bias'))),
  };
}

export const gptj: FamilyAdapter = {
  architectures: ['GPTJForCausalLM'],
  modelTypes: { gptj: 'GPTJForCausalLM' },
  residual: () => 'parallel',
  parse,
  names,
  layerSpecs,
  blockTensors,
};
