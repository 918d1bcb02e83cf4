/**
 * GPT-2 block weights. GPT-2's Conv1D weights are already [in, out], so they
 * are used as MatMul operands as stored; c_attn is the packed q|k|v with the
 * softmax scale (and, with scale_attn_by_inverse_layer_idx, 1/(layer+1))
 * folded into the q columns and bias.
 */
import type { WeightSource } from './checkpoint.js';
import type { DecoderConfig } from './config.js';
import type { BlockWeights } from './family.js';
import type { ModelNames } from './layout.js';
import type { GraphBuilder } from './ops.js';

export function gpt2Block(cfg: DecoderConfig, src: WeightSource, names: ModelNames, b: GraphBuilder, i: number): BlockWeights {
  const hf = names.layer(i);
  const name = (suffix: string): string => `${hf}.${suffix}`;
  const { hiddenSize: H, intermediateSize: I } = cfg;
  const scale = (1 / Math.sqrt(cfg.headDim)) * (cfg.scaleByInverseLayer ? 1 / (i + 1) : 1);
  const w = (suffix: string, dims: number[]): string => b.weight(name(suffix), dims, src.read(name(suffix)));

  const cAttn = src.read(name('attn.c_attn.weight'));
  for (let r = 0; r < H; r++) for (let c = 0; c < H; c++) cAttn[r * 3 * H + c] = (cAttn[r * 3 * H + c] as number) * scale;
  const cAttnBias = src.read(name('attn.c_attn.bias'));
  for (let c = 0; c < H; c++) cAttnBias[c] = (cAttnBias[c] as number) * scale;

  return {
    norm1: { weight: w('ln_1.weight', [H]), bias: w('ln_1.bias', [H]) },
    qkv: b.weight(name('attn.c_attn.weight_qscaled'), [H, 3 * H], cAttn),
    qkvBias: b.weight(name('attn.c_attn.bias_qscaled'), [3 * H], cAttnBias),
    out: w('attn.c_proj.weight', [H, H]),
    outBias: w('attn.c_proj.bias', [H]),
    norm2: { weight: w('ln_2.weight', [H]), bias: w('ln_2.bias', [H]) },
    mlpIn: w('mlp.c_fc.weight', [H, I]),
    mlpInBias: w('mlp.c_fc.bias', [I]),
    mlpOut: w('mlp.c_proj.weight', [I, H]),
    mlpOutBias: w('mlp.c_proj.bias', [H]),
  };
}

export const GPT2_BLOCK_TENSORS = 12;
