/** Qwen2: Llama blocks with q/k/v biases; sliding windows only with use_sliding_window, from max_window_layers on. */
import { llamaLayout } from '../llama-layout.js';

export const qwen2 = llamaLayout({
  order: 3,
  architectures: ['Qwen2ForCausalLM'],
  modelTypes: { qwen2: 'Qwen2ForCausalLM' },
  qkvBias: true,
  slidingLayers: (cfg, layer) => cfg.use_sliding_window === true && layer >= (typeof cfg.max_window_layers === 'number' ? cfg.max_window_layers : 0),
});

export default qwen2;
