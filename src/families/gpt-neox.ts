/**
 * GPT-NeoX / Pythia: with use_parallel_residual (the default) the block is
 * h + attn(ln₁ h) + mlp(ln₂ h), two norms on the same input; without it,
 * sequential. query_key_value is packed per head ([heads, 3, head_dim] rows),
 * rotate_half partial rotary over rotary_pct of each head, biases on every
 * projection (attention_bias), a GELU MLP and an untied, bias-free head.
 */
import { activation, checkHeads, num, parseRope, posInt } from './fields.js';
import { PARALLEL_STRUCTURE, headRows } from './parallel.js';
import { linearT, norm, packQkv, tensor } from './tensors.js';
import type { BlockTensors, DecoderConfig, FamilyAdapter, Json, ModelNames, ResidualKind, TensorReader, TensorSpec } from './types.js';

const residual = (cfg: Json): ResidualKind => (cfg.use_parallel_residual === false ? 'sequential' : 'parallel');

function parse(cfg: Json, path: string, architecture: string): DecoderConfig {
  const act = activation(architecture, 'hidden_act', cfg.hidden_act ?? 'gelu', ['gelu', 'gelu_new', 'gelu_pytorch_tanh']);
  const hiddenSize = posInt(cfg, 'hidden_size', path);
  const numHeads = posInt(cfg, 'num_attention_heads', path);
  const numLayers = posInt(cfg, 'num_hidden_layers', path);
  const headDim = hiddenSize / numHeads;
  checkHeads(path, headDim, numHeads, numHeads);
  const tie = cfg.tie_word_embeddings;
  const attentionBias = cfg.attention_bias !== false;
  const withPct = cfg.rotary_pct === undefined && (cfg.rope_parameters as Json | undefined)?.partial_rotary_factor === undefined ? { ...cfg, rotary_pct: 0.25 } : cfg;
  return {
    architecture,
    hiddenSize,
    intermediateSize: posInt(cfg, 'intermediate_size', path),
    numLayers,
    numHeads,
    numKvHeads: numHeads,
    headDim,
    normEps: num(cfg, 'layer_norm_eps', path, 1e-5),
    vocabSize: posInt(cfg, 'vocab_size', path),
    maxPositions: posInt(cfg, 'max_position_embeddings', path, 2048),
    tieWordEmbeddings: typeof tie === 'boolean' ? tie : false,
    slidingWindow: Array.from({ length: numLayers }, () => undefined),
    rope: parseRope(withPct, path, headDim, { partial: true, thetaKey: 'rotary_emb_base' }),
    queryScale: Array.from({ length: numLayers }, () => 1 / Math.sqrt(headDim)),
    block: { ...PARALLEL_STRUCTURE, residual: residual(cfg), separateMlpNorm: true, activation: act },
    bias: { qkv: attentionBias, out: attentionBias, mlp: true },
    initializerRange: num(cfg, 'initializer_range', path, 0.02),
  };
}

const names = (): ModelNames => ({
  embed: 'gpt_neox.embed_in.weight', finalNorm: 'gpt_neox.final_layer_norm.weight', finalNormBias: 'gpt_neox.final_layer_norm.bias',
  head: 'embed_out.weight', layer: (i) => `gpt_neox.layers.${i}`,
});

function layerSpecs(cfg: DecoderConfig, n: ModelNames, i: number): TensorSpec[] {
  const p = n.layer(i);
  const { hiddenSize: H, intermediateSize: I } = cfg;
  const specs: TensorSpec[] = [];
  for (const ln of ['input_layernorm', 'post_attention_layernorm']) {
    specs.push({ name: `${p}.${ln}.weight`, shape: [H], init: 'ones' }, { name: `${p}.${ln}.bias`, shape: [H], init: 'zeros' });
  }
  specs.push({ name: `${p}.attention.query_key_value.weight`, shape: [3 * H, H], init: 'normal' });
  specs.push({ name: `${p}.attention.dense.weight`, shape: [H, H], init: 'normal' });
  if (cfg.bias.qkv) specs.push({ name: `${p}.attention.query_key_value.bias`, shape: [3 * H], init: 'zeros' });
  if (cfg.bias.out) specs.push({ name: `${p}.attention.dense.bias`, shape: [H], init: 'zeros' });
  specs.push(
    { name: `${p}.mlp.dense_h_to_4h.weight`, shape: [I, H], init: 'normal' }, { name: `${p}.mlp.dense_h_to_4h.bias`, shape: [I], init: 'zeros' },
    { name: `${p}.mlp.dense_4h_to_h.weight`, shape: [H, I], init: 'normal' }, { name: `${p}.mlp.dense_4h_to_h.bias`, shape: [H], init: 'zeros' },
  );
  return specs;
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
  const ln = (s: string) => norm(src, name(`${s}.weight`), H, { bias: name(`${s}.bias`) });
  const t: BlockTensors = {
    attnNorm: ln('input_layernorm'),
    mlpNorm: ln('post_attention_layernorm'),
    qkv,
    out: linearT(src, name('attention.dense.weight'), H, H),
    mlpIn: linearT(src, name('mlp.dense_h_to_4h.weight'), I, H),
    mlpInBias: tensor(name('mlp.dense_h_to_4h.bias'), [I], src.read(name('mlp.dense_h_to_4h.bias'))),
    mlpOut: linearT(src, name('mlp.dense_4h_to_h.weight'), H, I),
    mlpOutBias: tensor(name('mlp.dense_4h_to_h.bias'), [H], src.read(name('mlp.dense_4h_to_h.bias'))),
  };
  if (qkvBias) t.qkvBias = qkvBias;
  if (cfg.bias.out) t.outBias = tensor(name('attention.dense.bias'), [H], src.read(name('attention.dense.bias')));
  return t;
}

export const gptNeox: FamilyAdapter = {
  architectures: ['GPTNeoXForCausalLM'],
  modelTypes: { gpt_neox: 'GPTNeoXForCausalLM' },
  residual,
  parse,
  names,
  layerSpecs,
  blockTensors,
};
