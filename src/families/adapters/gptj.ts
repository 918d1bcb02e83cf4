/**
 * GPT-J: parallel residual blocks h + attn(ln_1 h) + mlp(ln_1 h) with one
 * shared LayerNorm, interleaved (rotate_every_two) partial rotary over the
 * first rotary_dim dimensions, bias-free attention projections, a GELU MLP
 * and an untied LM head with bias.
 */
import { parseRope } from '../fields.js';
import { PARALLEL_STRUCTURE, gptConfig, layerNorm, layerNormSpecs, linearMlp, linearSpecs, type GptConfigKeys } from '../parallel.js';
import { linearT, packQkv } from '../tensors.js';
import type { BlockTensors, DecoderConfig, FamilyAdapter, Json, ModelNames, TensorReader, TensorSpec } from '../types.js';

const KEYS: GptConfigKeys = {
  hidden: 'n_embd', heads: 'n_head', layers: 'n_layer', inner: 'n_inner', innerDefault: (h) => 4 * h, eps: 'layer_norm_epsilon', positions: 'n_positions', positionsDefault: 2048,
  activation: 'activation_function', activationDefault: 'gelu_new', activations: ['gelu_new', 'gelu_pytorch_tanh', 'gelu'],
};

function parse(cfg: Json, path: string, architecture: string): DecoderConfig {
  return gptConfig(cfg, path, architecture, KEYS, (d) => ({
    rope: parseRope(cfg, path, d.headDim, { rotaryDim: typeof cfg.rotary_dim === 'number' ? cfg.rotary_dim : d.headDim, interleaved: true }),
    block: { ...PARALLEL_STRUCTURE, activation: d.activation, headBias: true },
    bias: { qkv: false, out: false, mlp: true },
  }));
}

const names = (): ModelNames => ({
  embed: 'transformer.wte.weight', finalNorm: 'transformer.ln_f.weight', finalNormBias: 'transformer.ln_f.bias',
  head: 'lm_head.weight', headBias: 'lm_head.bias', layer: (i) => `transformer.h.${i}`,
});

function layerSpecs(cfg: DecoderConfig, n: ModelNames, i: number): TensorSpec[] {
  const p = n.layer(i);
  const { hiddenSize: H, intermediateSize: I } = cfg;
  return [
    ...layerNormSpecs(`${p}.ln_1`, H),
    ...['q_proj', 'k_proj', 'v_proj', 'out_proj'].flatMap((m) => linearSpecs(`${p}.attn.${m}`, [H, H], false)),
    ...linearSpecs(`${p}.mlp.fc_in`, [I, H]),
    ...linearSpecs(`${p}.mlp.fc_out`, [H, I]),
  ];
}

function blockTensors(cfg: DecoderConfig, src: TensorReader, n: ModelNames, i: number): BlockTensors {
  const p = n.layer(i);
  const name = (s: string): string => `${p}.${s}`;
  const { hiddenSize: H, intermediateSize: I } = cfg;
  const { qkv } = packQkv(cfg, i, { q: src.read(name('attn.q_proj.weight')), k: src.read(name('attn.k_proj.weight')), v: src.read(name('attn.v_proj.weight')) }, name('attn.qkv_proj'));
  return {
    attnNorm: layerNorm(src, name('ln_1'), H),
    qkv,
    out: linearT(src, name('attn.out_proj.weight'), H, H),
    ...linearMlp(src, name('mlp.fc_in'), name('mlp.fc_out'), H, I),
  };
}

export const gptj: FamilyAdapter = {
  order: 9,
  architectures: ['GPTJForCausalLM'],
  modelTypes: { gptj: 'GPTJForCausalLM' },
  residual: () => 'parallel',
  parse,
  names,
  layerSpecs,
  blockTensors,
};

export default gptj;
