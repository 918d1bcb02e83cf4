/** Llama: pre-norm sequential blocks, RMSNorm, rotary (default, linear, llama3), SwiGLU; optional attention/MLP biases. */
import { llamaLayout } from '../llama-layout.js';

export const llama = llamaLayout({ order: 1, architectures: ['LlamaForCausalLM'], modelTypes: { llama: 'LlamaForCausalLM' } });

export default llama;
