/**
 * What the GPT-style families share (GPT-2, and the parallel-residual GPT-J,
 * Phi-1/2 and GPT-NeoX): the parallel block structure, their config parsing
 * (LayerNorm, a GELU MLP, full multi-head attention, no sliding window), and
 * the tensor-name runs of LayerNorms and biased linears.
 */
import { activation, checkHeads, num, posInt } from './fields.js';
import { linearT, norm, tensor } from './tensors.js';
import type { Activation, BlockStructure, DecoderConfig, Json, NormTensors, Tensor, TensorReader, TensorSpec } from './types.js';

export const PARALLEL_STRUCTURE: BlockStructure = {
  residual: 'parallel', norm: 'layer', normUnitOffset: false, separateMlpNorm: false, sandwich: false, qkNorm: false, mlp: 'plain', activation: 'gelu_tanh',
  embeddingScale: 1, learnedPositions: false, attnSoftcap: undefined, finalSoftcap: undefined, headBias: false,
};

/** Where a GPT-style config keeps each field, and the family's defaults. */
export interface GptConfigKeys {
  hidden: string;
  heads: string;
  layers: string;
  /** Key-value heads (default: as many as query heads). */
  kvHeads?: string;
  inner: string;
  /** intermediate size when the config has none (default: required). */
  innerDefault?: (hiddenSize: number) => number;
  eps: string;
  positions: string;
  positionsDefault: number;
  activation: string;
  activationDefault: string;
  activations: readonly string[];
}

/** The parsed sizes a family needs to fill in the rest of its config. */
export interface GptDims {
  hiddenSize: number;
  numHeads: number;
  numKvHeads: number;
  numLayers: number;
  headDim: number;
  activation: Activation;
}

/** The family-specific part of a config; queryScale defaults to 1/√head_dim, tieWordEmbeddings to the config's flag (else false). */
export type GptConfigRest = Pick<DecoderConfig, 'rope' | 'block' | 'bias'> & Partial<Pick<DecoderConfig, 'queryScale' | 'tieWordEmbeddings'>>;

export function gptConfig(cfg: Json, path: string, architecture: string, keys: GptConfigKeys, rest: (d: GptDims) => GptConfigRest): DecoderConfig {
  const act = activation(architecture, keys.activation, cfg[keys.activation] ?? keys.activationDefault, keys.activations);
  const hiddenSize = posInt(cfg, keys.hidden, path);
  const numHeads = posInt(cfg, keys.heads, path);
  const numKvHeads = keys.kvHeads ? posInt(cfg, keys.kvHeads, path, numHeads) : numHeads;
  const numLayers = posInt(cfg, keys.layers, path);
  const headDim = hiddenSize / numHeads;
  checkHeads(path, headDim, numHeads, numKvHeads);
  const { rope, block, bias, queryScale, tieWordEmbeddings } = rest({ hiddenSize, numHeads, numKvHeads, numLayers, headDim, activation: act });
  const tie = cfg.tie_word_embeddings;
  return {
    architecture,
    hiddenSize,
    intermediateSize: posInt(cfg, keys.inner, path, keys.innerDefault?.(hiddenSize)),
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    normEps: num(cfg, keys.eps, path, 1e-5),
    vocabSize: posInt(cfg, 'vocab_size', path),
    maxPositions: posInt(cfg, keys.positions, path, keys.positionsDefault),
    tieWordEmbeddings: tieWordEmbeddings ?? (typeof tie === 'boolean' ? tie : false),
    slidingWindow: Array.from({ length: numLayers }, () => undefined),
    rope,
    queryScale: queryScale ?? Array.from({ length: numLayers }, () => 1 / Math.sqrt(headDim)),
    block,
    bias,
    initializerRange: num(cfg, 'initializer_range', path, 0.02),
  };
}

/** Random-init specs of a LayerNorm `<name>.weight` (ones) and `<name>.bias` (zeros). */
export function layerNormSpecs(name: string, size: number): TensorSpec[] {
  return [{ name: `${name}.weight`, shape: [size], init: 'ones' }, { name: `${name}.bias`, shape: [size], init: 'zeros' }];
}

/** Random-init specs of a linear `<name>.weight` (normal, `shape`) and, unless `biasSize` is false, `<name>.bias` (zeros; default size shape[0], HF Linear's out). */
export function linearSpecs(name: string, shape: [number, number], biasSize: number | false = shape[0]): TensorSpec[] {
  const w: TensorSpec = { name: `${name}.weight`, shape, init: 'normal' };
  return biasSize === false ? [w] : [w, biasSpec(`${name}.bias`, biasSize)];
}

export function biasSpec(name: string, size: number): TensorSpec {
  return { name, shape: [size], init: 'zeros' };
}

/** A LayerNorm `<name>.weight` with its `<name>.bias`. */
export function layerNorm(src: TensorReader, name: string, size: number): NormTensors {
  return norm(src, `${name}.weight`, size, { bias: `${name}.bias` });
}

/** A bias vector read as it is. */
export function bias(src: TensorReader, name: string, size: number): Tensor {
  return tensor(name, [size], src.read(name));
}

/** The plain MLP of HF Linear layers `<up>` [I, H] and `<down>` [H, I], with biases. */
export function linearMlp(src: TensorReader, up: string, down: string, hiddenSize: number, intermediateSize: number): { mlpIn: Tensor; mlpInBias: Tensor; mlpOut: Tensor; mlpOutBias: Tensor } {
  return {
    mlpIn: linearT(src, `${up}.weight`, intermediateSize, hiddenSize),
    mlpInBias: bias(src, `${up}.bias`, intermediateSize),
    mlpOut: linearT(src, `${down}.weight`, hiddenSize, intermediateSize),
    mlpOutBias: bias(src, `${down}.bias`, hiddenSize),
  };
}

/** Rows [start, start + count) of each of `heads` groups of `stride` rows ([rows, cols] row-major), concatenated. */
export function headRows(src: Float32Array, heads: number, stride: number, start: number, count: number, cols: number): Float32Array {
  const out = new Float32Array(heads * count * cols);
  for (let h = 0; h < heads; h++) {
    const from = (h * stride + start) * cols;
    out.set(src.subarray(from, from + count * cols), h * count * cols);
  }
  return out;
}
