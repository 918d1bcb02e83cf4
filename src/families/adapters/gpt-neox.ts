/**
 * GPT-NeoX / Pythia: with use_parallel_residual (the default) the block is
 * h + attn(ln₁ h) + mlp(ln₂ h), two norms on the same input; without it,
 * sequential. query_key_value is packed per head ([heads, 3, head_dim] rows),
 * rotate_half partial rotary over rotary_pct of each head, biases on every
 * projection (attention_bias), a GELU MLP and an untied, bias-free head.
 */
import { parseRope } from '../fields.js';
import { PARALLEL_STRUCTURE, bias, biasSpec, gptConfig, headRows, layerNorm, layerNormSpecs, linearMlp, linearSpecs, type GptConfigKeys } from '../parallel.js';
import { linearT, packQkv } from '../tensors.js';
import type { BlockTensors, DecoderConfig, FamilyAdapter, Json, ModelNames, ResidualKind, TensorReader, TensorSpec } from '../types.js';

const residual = (cfg: Json): ResidualKind => (cfg.use_parallel_residual === false ? 'sequential' : 'parallel');

const KEYS: GptConfigKeys = {
  hidden: 'hidden_size', heads: 'num_attention_heads', layers: 'num_hidden_layers', inner: 'intermediate_size', eps: 'layer_norm_eps',
  positions: 'max_position_embeddings', positionsDefault: 2048, activation: 'hidden_act', activationDefault: 'gelu', activations: ['gelu', 'gelu_new', 'gelu_pytorch_tanh'],
};

function parse(cfg: Json, path: string, architecture: string): DecoderConfig {
  const attentionBias = cfg.attention_bias !== false;
  const withPct = cfg.rotary_pct === undefined && (cfg.rope_parameters as Json | undefined)?.partial_rotary_factor === undefined ? { ...cfg, rotary_pct: 0.25 } : cfg;
  return gptConfig(cfg, path, architecture, KEYS, (d) => ({
    rope: parseRope(withPct, path, d.headDim, { partial: true, thetaKey: 'rotary_emb_base' }),
    block: { ...PARALLEL_STRUCTURE, residual: residual(cfg), separateMlpNorm: true, activation: d.activation },
    bias: { qkv: attentionBias, out: attentionBias, mlp: true },
  }));
}

const names = (): ModelNames => ({
  embed: 'gpt_neox.embed_in.weight', finalNorm: 'gpt_neox.final_layer_norm.weight', finalNormBias: 'gpt_neox.final_layer_norm.bias',
  head: 'embed_out.weight', layer: (i) => `gpt_neox.layers.${i}`,
});

function layerSpecs(cfg: DecoderConfig, n: ModelNames, i: number): TensorSpec[] {
  const p = n.layer(i);
  const { hiddenSize: H, intermediateSize: I } = cfg;
  return [
    ...layerNormSpecs(`${p}.input_layernorm`, H),
    ...layerNormSpecs(`${p}.post_attention_layernorm`, H),
    ...linearSpecs(`${p}.attention.query_key_value`, [3 * H, H], false),
    ...linearSpecs(`${p}.attention.dense`, [H, H], false),
    ...(cfg.bias.qkv ? [biasSpec(`${p}.attention.query_key_value.bias`, 3 * H)] : []),
    ...(cfg.bias.out ? [biasSpec(`${p}.attention.dense.bias`, H)] : []),
    ...linearSpecs(`${p}.mlp.dense_h_to_4h`, [I, H]),
    ...linearSpecs(`${p}.mlp.dense_4h_to_h`, [H, I]),
  ];
}

function blockTensors(cfg: DecoderConfig, src: TensorReader, n: ModelNames, i: number): BlockTensors {
  const p = n.layer(i);
  const name = (s: string): string => `${p}.${s}`;
  const { hiddenSize: H, intermediateSize: I, numHeads: nH, headDim: hd } = cfg;
  const w = src.read(name('attention.query_key_value.weight'));
  const part = (j: number, src3: Float32Array, cols: number) => headRows(src3, nH, 3 * hd, j * hd, hd, cols);
  const b = cfg.bias.qkv ? src.read(name('attention.query_key_value.bias')) : undefined;
  const biases = b ? { qBias: part(0, b, 1), kBias: part(1, b, 1), vBias: part(2, b, 1) } : {};
  const { qkv, qkvBias } = packQkv(cfg, i, { q: part(0, w, H), k: part(1, w, H), v: part(2, w, H), ...biases }, name('attention.qkv'));
  const t: BlockTensors = {
    attnNorm: layerNorm(src, name('input_layernorm'), H),
    mlpNorm: layerNorm(src, name('post_attention_layernorm'), H),
    qkv,
    out: linearT(src, name('attention.dense.weight'), H, H),
    ...linearMlp(src, name('mlp.dense_h_to_4h'), name('mlp.dense_4h_to_h'), H, I),
  };
  if (qkvBias) t.qkvBias = qkvBias;
  if (cfg.bias.out) t.outBias = bias(src, name('attention.dense.bias'), H);
  return t;
}

export const gptNeox: FamilyAdapter = {
  order: 11,
  architectures: ['GPTNeoXForCausalLM'],
  modelTypes: { gpt_neox: 'GPTNeoXForCausalLM' },
  residual,
  parse,
  names,
  layerSpecs,
  blockTensors,
};

export default gptNeox;
