/**
 * What an architecture adapter declares: the block structure of a decoder
 * family as data (a normalised {@link DecoderConfig}), plus the small
 * functions that map its checkpoint tensors into the MatMul layout the
 * builder assembles. The builder and the instrumenter read adapters; they
 * never test for a family by name.
 */

export type Json = Record<string, unknown>;

/**
 * - `sequential`: h_mid = h + attn(norm(h)); h_out = h_mid + mlp(norm(h_mid)).
 * - `parallel`: h_out = h + attn(norm(h)) + mlp(norm'(h)), one residual sum per block
 *   (GPT-J, Phi-1/2, GPT-NeoX with use_parallel_residual).
 */
export type ResidualKind = 'sequential' | 'parallel';

/** `gelu_tanh` is gelu_new / gelu_pytorch_tanh; `gelu` is the exact erf form. */
export type Activation = 'silu' | 'gelu_tanh' | 'gelu';

export interface RopeConfig {
  theta: number;
  type: 'default' | 'linear' | 'llama3';
  factor: number;
  /** llama3 only. */
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositions: number;
  /** Leading dimensions of each head that rotate (partial rotary); the rest pass through. */
  rotaryDim: number;
  /** GPT-J's rotate_every_two pairing (2i, 2i+1) instead of rotate_half's (i, i + d/2). */
  interleaved: boolean;
}

/** The block structure, as data. */
export interface BlockStructure {
  residual: ResidualKind;
  /** RMSNorm (no bias) or LayerNorm (with bias). Gemma's (1 + w) is folded into the weights by its adapter. */
  norm: 'rms' | 'layer';
  /** Gemma's (1 + w) RMSNorm: checkpoints store w; the builder folds the 1 into the weights. */
  normUnitOffset: boolean;
  /** Parallel blocks: whether the MLP has its own norm (NeoX) or reads the attention norm (GPT-J, Phi). */
  separateMlpNorm: boolean;
  /** Gemma2 sandwich norms: the attention and MLP outputs are normed before their residual add. */
  sandwich: boolean;
  /** Per-head RMSNorm on q and k before rotary (Qwen3). */
  qkNorm: boolean;
  /** `gated`: act(gate) · up (SwiGLU, GeGLU); `plain`: act(fc_in). */
  mlp: 'gated' | 'plain';
  activation: Activation;
  /** Multiplier on the token embedding (Gemma: √hidden). */
  embeddingScale: number;
  /** Learned absolute position embeddings (GPT-2). */
  learnedPositions: boolean;
  /** tanh soft-capping of attention logits (Gemma2), or undefined. */
  attnSoftcap: number | undefined;
  /** tanh soft-capping of the final logits (Gemma2), or undefined. */
  finalSoftcap: number | undefined;
  /** Bias on the LM head (GPT-J, Phi). */
  headBias: boolean;
}

export interface DecoderConfig {
  architecture: string;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  normEps: number;
  vocabSize: number;
  maxPositions: number;
  /** true, false, or undefined when the config does not say. */
  tieWordEmbeddings: boolean | undefined;
  /** Per-layer sliding attention window (number of keys visible), or undefined for full attention. */
  slidingWindow: (number | undefined)[];
  /** Rotary embeddings, or undefined (learned positions). */
  rope: RopeConfig | undefined;
  /** Per-layer softmax scale on q·k (1/√head_dim, Gemma2's query_pre_attn_scalar, GPT-2's 1/(layer+1)). */
  queryScale: number[];
  block: BlockStructure;
  /** Optional biases of the Llama-style weight layout. */
  bias: { qkv: boolean; out: boolean; mlp: boolean };
  initializerRange: number;
}

export type InitKind = 'normal' | 'ones' | 'zeros';
export interface TensorSpec { name: string; shape: number[]; init: InitKind }

/** Read access to checkpoint tensors (float32 copies the caller may modify). */
export interface TensorReader {
  has(name: string): boolean;
  read(name: string): Float32Array;
}

/** A tensor for the graph, in the layout the builder uses. */
export interface Tensor { name: string; dims: number[]; data: Float32Array }
export interface NormTensors { weight: Tensor; bias?: Tensor }

/** One block's tensors in MatMul layout ([in, out]). */
export interface BlockTensors {
  attnNorm: NormTensors;
  /** Pre-MLP norm (sequential blocks, and parallel blocks with separate norms). */
  mlpNorm?: NormTensors;
  /** Sandwich norms on the sublayer outputs. */
  postAttnNorm?: NormTensors;
  postMlpNorm?: NormTensors;
  /** Per-head q/k norms [head_dim]; the softmax scale is folded into qNorm. */
  qNorm?: NormTensors;
  kNorm?: NormTensors;
  /** Packed q|k|v [hidden, (nH + 2·nKV)·hd]; softmax scale folded into q unless there is a qNorm. */
  qkv: Tensor;
  qkvBias?: Tensor;
  out: Tensor;
  outBias?: Tensor;
  /** gate|up [hidden, 2·I] (gated) or fc_in [hidden, I] (plain). */
  mlpIn: Tensor;
  mlpInBias?: Tensor;
  mlpOut: Tensor;
  mlpOutBias?: Tensor;
}

/** Model-level tensor names. */
export interface ModelNames {
  embed: string;
  /** Learned position embeddings. */
  positions?: string;
  finalNorm: string;
  finalNormBias?: string;
  head: string;
  headBias?: string;
  /** Prefix of block tensors, e.g. `model.layers.3`. */
  layer(i: number): string;
}

export interface FamilyAdapter {
  /** Where help and messages list it among the built-ins, lower first; without one it follows them, by file name. */
  readonly order?: number;
  /** Hugging Face class names this adapter reads (`architectures[0]`). */
  readonly architectures: readonly string[];
  /** `model_type` values that resolve to each class (transformers 5 configs may omit `architectures`). */
  readonly modelTypes: Readonly<Record<string, string>>;
  /** Residual wiring from config.json alone: what the instrumenter checks an export against. */
  residual(cfg: Json): ResidualKind;
  /** config.json → normalised description (typed errors for what is not supported). */
  parse(cfg: Json, path: string, architecture: string): DecoderConfig;
  /** Model-level tensor names (`has` tells checkpoint variants apart). */
  names(cfg: DecoderConfig, has?: (name: string) => boolean): ModelNames;
  /** Every tensor block `i` reads, with its checkpoint shape and random-init kind. */
  layerSpecs(cfg: DecoderConfig, names: ModelNames, i: number): TensorSpec[];
  /** Block `i`'s tensors in MatMul layout. */
  blockTensors(cfg: DecoderConfig, src: TensorReader, names: ModelNames, i: number): BlockTensors;
}
