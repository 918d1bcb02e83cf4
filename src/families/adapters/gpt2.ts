/**
 * GPT-2: sequential pre-LayerNorm blocks, learned position embeddings,
 * GELU MLP, tied head. Conv1D weights are stored [in, out] already; c_attn
 * is the packed q|k|v with the softmax scale (and, with
 * scale_attn_by_inverse_layer_idx, 1/(layer+1)) folded into the q columns.
 */
import { UnsupportedArchitectureError } from '../../errors.js';
import { gptConfig, layerNorm, layerNormSpecs, linearSpecs, type GptConfigKeys } from '../parallel.js';
import { tensor } from '../tensors.js';
import type { BlockTensors, DecoderConfig, FamilyAdapter, Json, ModelNames, TensorReader, TensorSpec } from '../types.js';

const KEYS: GptConfigKeys = {
  hidden: 'n_embd', heads: 'n_head', layers: 'n_layer', inner: 'n_inner', innerDefault: (h) => 4 * h, eps: 'layer_norm_epsilon', positions: 'n_positions', positionsDefault: 1024,
  activation: 'activation_function', activationDefault: 'gelu_new', activations: ['gelu_new', 'gelu_pytorch_tanh', 'gelu'],
};

function parse(cfg: Json, path: string): DecoderConfig {
  if (cfg.add_cross_attention === true) throw new UnsupportedArchitectureError('GPT2LMHeadModel with cross-attention is not supported');
  if (cfg.scale_attn_weights === false) throw new UnsupportedArchitectureError('GPT2LMHeadModel with scale_attn_weights=false is not supported');
  const inverse = cfg.scale_attn_by_inverse_layer_idx === true;
  return gptConfig(cfg, path, 'GPT2LMHeadModel', KEYS, (d) => ({
    tieWordEmbeddings: true,
    rope: undefined,
    queryScale: Array.from({ length: d.numLayers }, (_, i) => (1 / Math.sqrt(d.headDim)) * (inverse ? 1 / (i + 1) : 1)),
    block: {
      residual: 'sequential', norm: 'layer', normUnitOffset: false, separateMlpNorm: true, sandwich: false, qkNorm: false, mlp: 'plain', activation: d.activation,
      embeddingScale: 1, learnedPositions: true, attnSoftcap: undefined, finalSoftcap: undefined, headBias: false,
    },
    bias: { qkv: true, out: true, mlp: true },
  }));
}

function names(_cfg: DecoderConfig, has?: (name: string) => boolean): ModelNames {
  const p = has && !has('transformer.wte.weight') && has('wte.weight') ? '' : 'transformer.';
  return {
    embed: `${p}wte.weight`, positions: `${p}wpe.weight`, finalNorm: `${p}ln_f.weight`, finalNormBias: `${p}ln_f.bias`, head: 'lm_head.weight', layer: (i) => `${p}h.${i}`,
  };
}

/** Conv1D weights are [in, out]; their bias is [out]. */
const conv1dSpecs = (name: string, inp: number, out: number): TensorSpec[] => linearSpecs(name, [inp, out], out);

function layerSpecs(cfg: DecoderConfig, n: ModelNames, i: number): TensorSpec[] {
  const p = n.layer(i);
  const H = cfg.hiddenSize;
  const I = cfg.intermediateSize;
  return [
    ...layerNormSpecs(`${p}.ln_1`, H),
    ...conv1dSpecs(`${p}.attn.c_attn`, H, 3 * H),
    ...conv1dSpecs(`${p}.attn.c_proj`, H, H),
    ...layerNormSpecs(`${p}.ln_2`, H),
    ...conv1dSpecs(`${p}.mlp.c_fc`, H, I),
    ...conv1dSpecs(`${p}.mlp.c_proj`, I, H),
  ];
}

function blockTensors(cfg: DecoderConfig, src: TensorReader, n: ModelNames, i: number): BlockTensors {
  const hf = n.layer(i);
  const name = (suffix: string): string => `${hf}.${suffix}`;
  const { hiddenSize: H, intermediateSize: I } = cfg;
  const scale = cfg.queryScale[i] as number;
  const w = (suffix: string, dims: number[]) => tensor(name(suffix), dims, src.read(name(suffix)));
  const cAttn = src.read(name('attn.c_attn.weight'));
  for (let r = 0; r < H; r++) for (let c = 0; c < H; c++) cAttn[r * 3 * H + c] = (cAttn[r * 3 * H + c] as number) * scale;
  const cAttnBias = src.read(name('attn.c_attn.bias'));
  for (let c = 0; c < H; c++) cAttnBias[c] = (cAttnBias[c] as number) * scale;
  return {
    attnNorm: layerNorm(src, name('ln_1'), H),
    qkv: tensor(name('attn.c_attn.weight_qscaled'), [H, 3 * H], cAttn),
    qkvBias: tensor(name('attn.c_attn.bias_qscaled'), [3 * H], cAttnBias),
    out: w('attn.c_proj.weight', [H, H]),
    outBias: w('attn.c_proj.bias', [H]),
    mlpNorm: layerNorm(src, name('ln_2'), H),
    mlpIn: w('mlp.c_fc.weight', [H, I]),
    mlpInBias: w('mlp.c_fc.bias', [I]),
    mlpOut: w('mlp.c_proj.weight', [I, H]),
    mlpOutBias: w('mlp.c_proj.bias', [H]),
  };
}

export const gpt2: FamilyAdapter = {
  order: 5,
  architectures: ['GPT2LMHeadModel'],
  modelTypes: { gpt2: 'GPT2LMHeadModel' },
  residual: () => 'sequential',
  parse,
  names,
  layerSpecs,
  blockTensors,
};

export default gpt2;
