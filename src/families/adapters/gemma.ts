/**
 * Gemma: Llama-layout blocks with the token embedding scaled by √hidden,
 * RMSNorm weights stored as w in (1 + w), and a GeGLU MLP (tanh GELU).
 */
import { llamaLayout } from '../llama-layout.js';

export const gemma = llamaLayout({
  order: 7,
  architectures: ['GemmaForCausalLM'],
  modelTypes: { gemma: 'GemmaForCausalLM' },
  activationKey: 'hidden_activation',
  activations: ['gelu_pytorch_tanh', 'gelu'],
  defaultActivation: 'gelu_pytorch_tanh',
  unitOffsetNorms: true,
  structure: (cfg) => ({ embeddingScale: Math.fround(Math.sqrt(Number(cfg.hidden_size))) }),
});

export default gemma;
