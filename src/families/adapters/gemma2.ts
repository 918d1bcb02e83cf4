/**
 * Gemma2: Gemma blocks with sandwich norms (post-attention, pre- and
 * post-feedforward), the softmax scale query_pre_attn_scalar^−½, tanh
 * soft-capping of attention logits and final logits, and sliding-window
 * layers from layer_types.
 */
import { optionalNumber, posInt } from '../fields.js';
import { llamaLayout } from '../llama-layout.js';

export const gemma2 = llamaLayout({
  order: 8,
  architectures: ['Gemma2ForCausalLM'],
  modelTypes: { gemma2: 'Gemma2ForCausalLM' },
  activationKey: 'hidden_activation',
  activations: ['gelu_pytorch_tanh', 'gelu'],
  defaultActivation: 'gelu_pytorch_tanh',
  unitOffsetNorms: true,
  slidingLayers: (_cfg, layer) => layer % 2 === 0,
  queryScale: (cfg, headDim, path) => 1 / Math.sqrt(posInt(cfg, 'query_pre_attn_scalar', path, headDim)),
  structure: (cfg) => ({
    sandwich: true,
    embeddingScale: Math.fround(Math.sqrt(Number(cfg.hidden_size))),
    attnSoftcap: optionalNumber(cfg, 'attn_logit_softcapping'),
    finalSoftcap: optionalNumber(cfg, 'final_logit_softcapping'),
  }),
});

export default gemma2;
