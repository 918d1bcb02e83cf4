/** Mistral: Llama blocks with a sliding attention window on every layer. */
import { llamaLayout } from '../llama-layout.js';

export const mistral = llamaLayout({ order: 2, architectures: ['MistralForCausalLM'], modelTypes: { mistral: 'MistralForCausalLM' } });

export default mistral;
