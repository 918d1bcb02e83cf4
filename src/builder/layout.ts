/**
 * The Hugging Face tensor names and shapes a decoder config implies, and the
 * resolution of tied embeddings (checkpoints may store the shared matrix as
 * `model.embed_tokens.weight`, as `lm_head.weight`, or both).
 */
import { CorruptFileError } from '../errors.js';
import type { TensorSpec, WeightSource } from './checkpoint.js';
import type { DecoderConfig } from './config.js';

export const LM_HEAD = 'lm_head.weight';

/** Model-level tensor names of a family (GPT-2 checkpoints may lack the `transformer.` prefix). */
export interface ModelNames {
  embed: string;
  /** Learned position embeddings (gpt2). */
  positions?: string;
  finalNorm: string;
  finalNormBias?: string;
  /** Prefix of block tensors, e.g. `model.layers.3` or `transformer.h.3`. */
  layer(i: number): string;
}

export function modelNames(cfg: DecoderConfig, src?: WeightSource): ModelNames {
  if (cfg.family === 'gpt2') {
    const p = src && !src.has('transformer.wte.weight') && src.has('wte.weight') ? '' : 'transformer.';
    return {
      embed: `${p}wte.weight`,
      positions: `${p}wpe.weight`,
      finalNorm: `${p}ln_f.weight`,
      finalNormBias: `${p}ln_f.bias`,
      layer: (i) => `${p}h.${i}`,
    };
  }
  return { embed: 'model.embed_tokens.weight', finalNorm: 'model.norm.weight', layer: (i) => `model.layers.${i}` };
}

/** Every tensor of one block, with its shape and random-init kind. */
export function layerSpecs(cfg: DecoderConfig, names: ModelNames, i: number): TensorSpec[] {
  const p = names.layer(i);
  const H = cfg.hiddenSize;
  const I = cfg.intermediateSize;
  if (cfg.family === 'gpt2') {
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
  const qOut = cfg.numHeads * cfg.headDim;
  const kvOut = cfg.numKvHeads * cfg.headDim;
  const specs: TensorSpec[] = [
    { name: `${p}.input_layernorm.weight`, shape: [H], init: 'ones' },
    { name: `${p}.post_attention_layernorm.weight`, shape: [H], init: 'ones' },
    { name: `${p}.self_attn.o_proj.weight`, shape: [H, qOut], init: 'normal' },
    { name: `${p}.mlp.down_proj.weight`, shape: [H, I], init: 'normal' },
  ];
  if (cfg.fusedProjections) {
    specs.push({ name: `${p}.self_attn.qkv_proj.weight`, shape: [qOut + 2 * kvOut, H], init: 'normal' });
    specs.push({ name: `${p}.mlp.gate_up_proj.weight`, shape: [2 * I, H], init: 'normal' });
  } else {
    specs.push({ name: `${p}.self_attn.q_proj.weight`, shape: [qOut, H], init: 'normal' });
    specs.push({ name: `${p}.self_attn.k_proj.weight`, shape: [kvOut, H], init: 'normal' });
    specs.push({ name: `${p}.self_attn.v_proj.weight`, shape: [kvOut, H], init: 'normal' });
    specs.push({ name: `${p}.mlp.gate_proj.weight`, shape: [I, H], init: 'normal' });
    specs.push({ name: `${p}.mlp.up_proj.weight`, shape: [I, H], init: 'normal' });
  }
  if (cfg.qkvBias) {
    specs.push({ name: `${p}.self_attn.q_proj.bias`, shape: [qOut], init: 'zeros' });
    specs.push({ name: `${p}.self_attn.k_proj.bias`, shape: [kvOut], init: 'zeros' });
    specs.push({ name: `${p}.self_attn.v_proj.bias`, shape: [kvOut], init: 'zeros' });
  }
  if (cfg.outBias) specs.push({ name: `${p}.self_attn.o_proj.bias`, shape: [H], init: 'zeros' });
  if (cfg.mlpBias) {
    specs.push({ name: `${p}.mlp.gate_proj.bias`, shape: [I], init: 'zeros' });
    specs.push({ name: `${p}.mlp.up_proj.bias`, shape: [I], init: 'zeros' });
    specs.push({ name: `${p}.mlp.down_proj.bias`, shape: [H], init: 'zeros' });
  }
  return specs;
}

/** Tensors outside the blocks, other than the embedding and the head. */
function globalSpecs(cfg: DecoderConfig, names: ModelNames): TensorSpec[] {
  const H = cfg.hiddenSize;
  const specs: TensorSpec[] = [{ name: names.finalNorm, shape: [H], init: 'ones' }];
  if (names.finalNormBias) specs.push({ name: names.finalNormBias, shape: [H], init: 'zeros' });
  if (names.positions) specs.push({ name: names.positions, shape: [cfg.maxPositions, H], init: 'normal' });
  return specs;
}

/** All tensors of a freshly initialised model (tied models get only the embedding). */
export function modelSpecs(cfg: DecoderConfig): TensorSpec[] {
  const names = modelNames(cfg);
  const specs: TensorSpec[] = [{ name: names.embed, shape: [cfg.vocabSize, cfg.hiddenSize], init: 'normal' }];
  for (let i = 0; i < cfg.numLayers; i++) specs.push(...layerSpecs(cfg, names, i));
  specs.push(...globalSpecs(cfg, names));
  if (cfg.tieWordEmbeddings !== true) specs.push({ name: LM_HEAD, shape: [cfg.vocabSize, cfg.hiddenSize], init: 'normal' });
  return specs;
}

export interface EmbeddingPlan {
  /** Tensor used by the input Gather, [vocab, hidden]. */
  embedding: string;
  /** Tensor used by the output projection, [vocab, hidden]. */
  head: string;
  tied: boolean;
}

export function planEmbeddings(cfg: DecoderConfig, src: WeightSource, names: ModelNames): EmbeddingPlan {
  const E = names.embed;
  const hasE = src.has(E);
  const hasH = src.has(LM_HEAD);
  const missing = (name: string): CorruptFileError => new CorruptFileError(src.label, `checkpoint has no tensor "${name}"`);
  if (cfg.tieWordEmbeddings === true || (cfg.tieWordEmbeddings === undefined && hasE !== hasH)) {
    const shared = hasE ? E : hasH ? LM_HEAD : undefined;
    if (!shared) throw missing(E);
    return { embedding: shared, head: shared, tied: true };
  }
  if (!hasE) throw missing(E);
  if (!hasH) throw missing(LM_HEAD);
  return { embedding: E, head: LM_HEAD, tied: false };
}

/** Validates every tensor the build will read before anything is written. */
export function checkSource(cfg: DecoderConfig, src: WeightSource, names: ModelNames, plan: EmbeddingPlan): void {
  const vh = [cfg.vocabSize, cfg.hiddenSize];
  src.check(plan.embedding, vh);
  if (plan.head !== plan.embedding) src.check(plan.head, vh);
  for (const s of globalSpecs(cfg, names)) src.check(s.name, s.shape);
  for (let i = 0; i < cfg.numLayers; i++) for (const s of layerSpecs(cfg, names, i)) src.check(s.name, s.shape);
}
