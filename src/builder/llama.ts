/**
 * Llama-family block weights (Llama, Mistral, Qwen2, Phi3) in MatMul layout:
 * q|k|v packed into one [hidden, (nH+2nKV)·hd] matrix with the softmax scale
 * folded into the q columns, gate|up packed into [hidden, 2·I], o and down
 * transposed from the Hugging Face [out, in] layout.
 */
import type { WeightSource } from './checkpoint.js';
import type { DecoderConfig } from './config.js';
import type { BlockWeights } from './family.js';
import type { ModelNames } from './layout.js';
import type { GraphBuilder } from './ops.js';
import { copyScaled, transposeInto } from './weights.js';

export function llamaBlock(cfg: DecoderConfig, src: WeightSource, names: ModelNames, b: GraphBuilder, i: number): BlockWeights {
  const hf = names.layer(i);
  const name = (suffix: string): string => `${hf}.${suffix}`;
  const { hiddenSize: H, intermediateSize: I, numHeads: nH, numKvHeads: nKV, headDim: hd } = cfg;
  const qOut = nH * hd;
  const kvOut = nKV * hd;
  const qkvOut = qOut + 2 * kvOut;
  const scale = 1 / Math.sqrt(hd);

  const norm1 = { weight: b.weight(name('input_layernorm.weight'), [H], src.read(name('input_layernorm.weight'))) };
  const norm2 = { weight: b.weight(name('post_attention_layernorm.weight'), [H], src.read(name('post_attention_layernorm.weight'))) };

  const qkvT = new Float32Array(H * qkvOut);
  if (cfg.fusedProjections) {
    const packed = src.read(name('self_attn.qkv_proj.weight'));
    transposeInto(packed.subarray(0, qOut * H), qOut, H, qkvT, qkvOut, 0, scale);
    transposeInto(packed.subarray(qOut * H), 2 * kvOut, H, qkvT, qkvOut, qOut);
  } else {
    transposeInto(src.read(name('self_attn.q_proj.weight')), qOut, H, qkvT, qkvOut, 0, scale);
    transposeInto(src.read(name('self_attn.k_proj.weight')), kvOut, H, qkvT, qkvOut, qOut);
    transposeInto(src.read(name('self_attn.v_proj.weight')), kvOut, H, qkvT, qkvOut, qOut + kvOut);
  }
  const qkv = b.weight(name('self_attn.qkv_proj.weight_t'), [H, qkvOut], qkvT);
  let qkvBias: string | undefined;
  if (cfg.qkvBias) {
    const bias = new Float32Array(qkvOut);
    copyScaled(src.read(name('self_attn.q_proj.bias')), bias, 0, scale);
    copyScaled(src.read(name('self_attn.k_proj.bias')), bias, qOut);
    copyScaled(src.read(name('self_attn.v_proj.bias')), bias, qOut + kvOut);
    qkvBias = b.weight(name('self_attn.qkv_proj.bias'), [qkvOut], bias);
  }

  const outT = new Float32Array(qOut * H);
  transposeInto(src.read(name('self_attn.o_proj.weight')), H, qOut, outT, H, 0);
  const out = b.weight(name('self_attn.o_proj.weight_t'), [qOut, H], outT);
  const outBias = cfg.outBias ? b.weight(name('self_attn.o_proj.bias'), [H], src.read(name('self_attn.o_proj.bias'))) : undefined;

  const gateUpT = new Float32Array(H * 2 * I);
  if (cfg.fusedProjections) {
    transposeInto(src.read(name('mlp.gate_up_proj.weight')), 2 * I, H, gateUpT, 2 * I, 0);
  } else {
    transposeInto(src.read(name('mlp.gate_proj.weight')), I, H, gateUpT, 2 * I, 0);
    transposeInto(src.read(name('mlp.up_proj.weight')), I, H, gateUpT, 2 * I, I);
  }
  const mlpIn = b.weight(name('mlp.gate_up_proj.weight_t'), [H, 2 * I], gateUpT);
  let mlpInBias: string | undefined;
  if (cfg.mlpBias) {
    const bias = new Float32Array(2 * I);
    copyScaled(src.read(name('mlp.gate_proj.bias')), bias, 0);
    copyScaled(src.read(name('mlp.up_proj.bias')), bias, I);
    mlpInBias = b.weight(name('mlp.gate_up_proj.bias'), [2 * I], bias);
  }
  const downT = new Float32Array(I * H);
  transposeInto(src.read(name('mlp.down_proj.weight')), H, I, downT, H, 0);
  const mlpOut = b.weight(name('mlp.down_proj.weight_t'), [I, H], downT);
  const mlpOutBias = cfg.mlpBias ? b.weight(name('mlp.down_proj.bias'), [H], src.read(name('mlp.down_proj.bias'))) : undefined;

  return { norm1, norm2, qkv, qkvBias, out, outBias, mlpIn, mlpInBias, mlpOut, mlpOutBias };
}

/** Number of initializers {@link llamaBlock} writes. */
export function llamaBlockTensorCount(cfg: DecoderConfig): number {
  return 6 + (cfg.qkvBias ? 1 : 0) + (cfg.outBias ? 1 : 0) + (cfg.mlpBias ? 2 : 0);
}
