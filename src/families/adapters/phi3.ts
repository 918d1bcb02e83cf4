/** Phi3: Llama blocks with fused qkv_proj and gate_up_proj tensors; partial rotary allowed. */
import { llamaLayout } from '../llama-layout.js';

export const phi3 = llamaLayout({ order: 4, architectures: ['Phi3ForCausalLM'], modelTypes: { phi3: 'Phi3ForCausalLM' }, fused: true, partialRotary: true });

export default phi3;
