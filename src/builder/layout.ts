/**
 * The tensors a decoder config implies (from its family adapter), and the
 * resolution of tied embeddings (checkpoints may store the shared matrix as
 * the embedding, as the head, or both).
 */
import { CorruptFileError } from '../errors.js';
import type { DecoderConfig, FamilyAdapter, ModelNames, TensorSpec } from '../families/index.js';
import type { WeightSource } from './checkpoint.js';

export type { ModelNames } from '../families/index.js';

/** Tensors outside the blocks, other than the embedding and the head. */
function globalSpecs(cfg: DecoderConfig, names: ModelNames): TensorSpec[] {
  const H = cfg.hiddenSize;
  const normInit = cfg.block.normUnitOffset ? 'zeros' : 'ones';
  const specs: TensorSpec[] = [{ name: names.finalNorm, shape: [H], init: normInit }];
  if (names.finalNormBias) specs.push({ name: names.finalNormBias, shape: [H], init: 'zeros' });
  if (names.positions) specs.push({ name: names.positions, shape: [cfg.maxPositions, H], init: 'normal' });
  if (names.headBias) specs.push({ name: names.headBias, shape: [cfg.vocabSize], init: 'zeros' });
  return specs;
}

/** All tensors of a freshly initialised model (tied models get only the embedding). */
export function modelSpecs(cfg: DecoderConfig, adapter: FamilyAdapter): TensorSpec[] {
  const names = adapter.names(cfg);
  const specs: TensorSpec[] = [{ name: names.embed, shape: [cfg.vocabSize, cfg.hiddenSize], init: 'normal' }];
  for (let i = 0; i < cfg.numLayers; i++) specs.push(...adapter.layerSpecs(cfg, names, i));
  specs.push(...globalSpecs(cfg, names));
  if (cfg.tieWordEmbeddings !== true) specs.push({ name: names.head, shape: [cfg.vocabSize, cfg.hiddenSize], init: 'normal' });
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
  const L = names.head;
  const hasE = src.has(E);
  const hasH = src.has(L);
  const missing = (name: string): CorruptFileError => new CorruptFileError(src.label, `checkpoint has no tensor "${name}"`);
  if (cfg.tieWordEmbeddings === true || (cfg.tieWordEmbeddings === undefined && hasE !== hasH)) {
    const shared = hasE ? E : hasH ? L : undefined;
    if (!shared) throw missing(E);
    return { embedding: shared, head: shared, tied: true };
  }
  if (!hasE) throw missing(E);
  if (!hasH) throw missing(L);
  return { embedding: E, head: L, tied: false };
}

/** Validates every tensor the build will read before anything is written. */
export function checkSource(cfg: DecoderConfig, adapter: FamilyAdapter, src: WeightSource, names: ModelNames, plan: EmbeddingPlan): void {
  const vh = [cfg.vocabSize, cfg.hiddenSize];
  src.check(plan.embedding, vh);
  if (plan.head !== plan.embedding) src.check(plan.head, vh);
  for (const s of globalSpecs(cfg, names)) src.check(s.name, s.shape);
  for (let i = 0; i < cfg.numLayers; i++) for (const s of adapter.layerSpecs(cfg, names, i)) src.check(s.name, s.shape);
}
