/**
 * Phi-1/Phi-2: parallel residual blocks h + attn(ln h) + mlp(ln h) with one
 * shared LayerNorm, rotate_half partial rotary (partial_rotary_factor),
 * biases on every projection, a GELU MLP, a final LayerNorm and an LM head
 * with bias. q/k LayerNorms (qk_layernorm) are not implemented.
 */
import { UnsupportedArchitectureError } from '../../errors.js';
import { parseRope } from '../fields.js';
import { PARALLEL_STRUCTURE, bias, gptConfig, layerNorm, layerNormSpecs, linearMlp, linearSpecs, type GptConfigKeys } from '../parallel.js';
import { linearT, packQkv } from '../tensors.js';
import type { BlockTensors, DecoderConfig, FamilyAdapter, Json, ModelNames, TensorReader, TensorSpec } from '../types.js';

const KEYS: GptConfigKeys = {
  hidden: 'hidden_size', heads: 'num_attention_heads', kvHeads: 'num_key_value_heads', layers: 'num_hidden_layers', inner: 'intermediate_size', eps: 'layer_norm_eps',
  positions: 'max_position_embeddings', positionsDefault: 2048, activation: 'hidden_act', activationDefault: 'gelu_new', activations: ['gelu_new', 'gelu_pytorch_tanh', 'gelu'],
};

function parse(cfg: Json, path: string, architecture: string): DecoderConfig {
  if (cfg.qk_layernorm === true) throw new UnsupportedArchitectureError(`${architecture} with qk_layernorm=true is not supported`);
  return gptConfig(cfg, path, architecture, KEYS, (d) => ({
    rope: parseRope(cfg, path, d.headDim, { partial: true }),
    block: { ...PARALLEL_STRUCTURE, activation: d.activation, headBias: true },
    bias: { qkv: true, out: true, mlp: true },
  }));
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
  return [
    ...layerNormSpecs(`${p}.input_layernorm`, H),
    ...linearSpecs(`${p}.self_attn.q_proj`, [qOut, H]), ...linearSpecs(`${p}.self_attn.k_proj`, [kvOut, H]), ...linearSpecs(`${p}.self_attn.v_proj`, [kvOut, H]),
    ...linearSpecs(`${p}.self_attn.dense`, [H, qOut]), ...linearSpecs(`${p}.mlp.fc1`, [I, H]), ...linearSpecs(`${p}.mlp.fc2`, [H, I]),
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
    attnNorm: layerNorm(src, name('input_layernorm'), H),
    qkv,
    out: linearT(src, name('self_attn.dense.weight'), H, qOut),
    outBias: bias(src, name('self_attn.dense.bias'), H),
    ...linearMlp(src, name('mlp.fc1'), name('mlp.fc2'), H, I),
  };
  if (qkvBias) t.qkvBias = qkvBias;
  return t;
}

export const phi: FamilyAdapter = {
  order: 10,
  architectures: ['PhiForCausalLM'],
  modelTypes: { phi: 'PhiForCausalLM' },
  residual: () => 'parallel',
  parse,
  names,
  layerSpecs,
  blockTensors,
};

export default phi;
