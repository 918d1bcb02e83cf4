/** Qwen3: Llama blocks with per-head RMSNorm on q and k before rotary (attention_bias optional, no forced q/k/v biases). */
import { llamaLayout } from '../llama-layout.js';

export const qwen3 = llamaLayout({
  order: 6,
  architectures: ['Qwen3ForCausalLM'],
  modelTypes: { qwen3: 'Qwen3ForCausalLM' },
  slidingLayers: (cfg, layer) => cfg.use_sliding_window === true && layer >= (typeof cfg.max_window_layers === 'number' ? cfg.max_window_layers : 0),
  structure: () => ({ qkNorm: true }),
});

export default qwen3;
