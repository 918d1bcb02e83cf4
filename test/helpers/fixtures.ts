/**
 * The decoder fixtures in ../shared/fixtures/onnx (read-only, never copied
 * into the repo) and what instrumenting each must find.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CacheKind, FloatDtype, IdDtype } from '../../src/hooks/manifest.js';
import { FIXTURES } from './paths.js';

export { SHARED, FIXTURES, REFERENCE } from './paths.js';

export interface DecoderFixture {
  id: string;
  /** What to pass to instrumentModel (a directory or an .onnx file). */
  input: string;
  numBlocks: number;
  hiddenSize: number;
  dtype: FloatDtype;
  ids: IdDtype;
  cache: CacheKind;
  output: 'logits' | 'lastHidden';
  padding: 'left' | 'right' | 'none';
  /** Tokens per run when the graph is fixed to a sequence length (decode-only graphs). */
  maxSequence?: number;
  externalData?: boolean;
  /** Activations are quantized per run (DynamicQuantizeLinear), so results depend on how tokens are batched. */
  dynamicQuant?: boolean;
  /** Carries expected.json with the transformers residual stream. */
  expected?: boolean;
  /** Parallel residual blocks: one residual sum per block, no hook_resid_mid. */
  parallel?: boolean;
}

const dir = (id: string): string => join(FIXTURES, id);

export const DECODERS: readonly DecoderFixture[] = [
  { id: 'torch-legacy-tinystories-656k', input: dir('torch-legacy-tinystories-656k'), numBlocks: 2, hiddenSize: 128, dtype: 'float32', ids: 'int64', cache: 'bnsh', output: 'logits', padding: 'left' },
  { id: 'torch-tiny-random-Qwen2ForCausalLM', input: dir('torch-tiny-random-Qwen2ForCausalLM'), numBlocks: 2, hiddenSize: 32, dtype: 'float32', ids: 'int64', cache: 'bnsh', output: 'logits', padding: 'left', expected: true },
  { id: 'torch-tiny-random-MistralForCausalLM', input: dir('torch-tiny-random-MistralForCausalLM'), numBlocks: 2, hiddenSize: 32, dtype: 'float32', ids: 'int64', cache: 'bnsh', output: 'logits', padding: 'left', expected: true },
  { id: 'torch-tiny-random-Phi3ForCausalLM', input: dir('torch-tiny-random-Phi3ForCausalLM'), numBlocks: 2, hiddenSize: 32, dtype: 'float32', ids: 'int64', cache: 'bnsh', output: 'logits', padding: 'left', expected: true },
  { id: 'torch-tiny-random-GPT2LMHeadModel', input: dir('torch-tiny-random-GPT2LMHeadModel'), numBlocks: 2, hiddenSize: 32, dtype: 'float32', ids: 'int64', cache: 'bnsh', output: 'logits', padding: 'left', expected: true },
  { id: 'torch-tiny-random-Qwen3ForCausalLM', input: dir('torch-tiny-random-Qwen3ForCausalLM'), numBlocks: 2, hiddenSize: 32, dtype: 'float32', ids: 'int64', cache: 'bnsh', output: 'logits', padding: 'left', expected: true },
  { id: 'torch-tiny-random-Gemma2ForCausalLM', input: dir('torch-tiny-random-Gemma2ForCausalLM'), numBlocks: 2, hiddenSize: 32, dtype: 'float32', ids: 'int64', cache: 'bnsh', output: 'logits', padding: 'left', expected: true },
  { id: 'torch-tiny-random-GPTJForCausalLM', input: dir('torch-tiny-random-GPTJForCausalLM'), numBlocks: 2, hiddenSize: 32, dtype: 'float32', ids: 'int64', cache: 'bnsh', output: 'logits', padding: 'left', expected: true, parallel: true },
  { id: 'torch-tiny-random-PhiForCausalLM', input: dir('torch-tiny-random-PhiForCausalLM'), numBlocks: 2, hiddenSize: 32, dtype: 'float32', ids: 'int64', cache: 'bnsh', output: 'logits', padding: 'left', expected: true, parallel: true },
  { id: 'ortgenai-mb-tiny-llama-fp16', input: dir('ortgenai-mb-tiny-llama-fp16'), numBlocks: 2, hiddenSize: 16, dtype: 'float16', ids: 'int64', cache: 'bnsh', output: 'logits', padding: 'left', externalData: true },
  { id: 'ortq-mb-tiny-llama-gqa-int4', input: dir('ortq-mb-tiny-llama-gqa-int4'), numBlocks: 2, hiddenSize: 16, dtype: 'float32', ids: 'int64', cache: 'bnsh', output: 'logits', padding: 'right' },
  { id: 'ortq-mb-tiny-llama-gqa-int8dyn', input: dir('ortq-mb-tiny-llama-gqa-int8dyn'), numBlocks: 2, hiddenSize: 16, dtype: 'float32', ids: 'int64', cache: 'bnsh', output: 'logits', padding: 'right', dynamicQuant: true },
  { id: 'ortgenai-ortopt-tiny-gpt2-fp32', input: dir('ortgenai-ortopt-tiny-gpt2-fp32'), numBlocks: 5, hiddenSize: 32, dtype: 'float32', ids: 'int32', cache: 'stacked', output: 'logits', padding: 'left' },
  { id: 'ortgenai-ortopt-tiny-gpt2-fp16', input: dir('ortgenai-ortopt-tiny-gpt2-fp16'), numBlocks: 5, hiddenSize: 32, dtype: 'float16', ids: 'int32', cache: 'stacked', output: 'logits', padding: 'left' },
  { id: 'ortgenai-handbuilt-tiny-qwen35-gqa-fp16', input: dir('ortgenai-handbuilt-tiny-qwen35-gqa-fp16'), numBlocks: 2, hiddenSize: 64, dtype: 'float16', ids: 'int32', cache: 'bnsh', output: 'logits', padding: 'right' },
  { id: 'ort-testdata-gpt2-past-torch16', input: dir('ort-testdata-gpt2-past-torch16'), numBlocks: 12, hiddenSize: 4, dtype: 'float32', ids: 'int64', cache: 'stacked', output: 'lastHidden', padding: 'none', maxSequence: 1 },
  { id: 'ortq-gpt2-past-torch16-uint8dyn', input: dir('ortq-gpt2-past-torch16-uint8dyn'), numBlocks: 12, hiddenSize: 4, dtype: 'float32', ids: 'int64', cache: 'stacked', output: 'lastHidden', padding: 'none', maxSequence: 1, dynamicQuant: true },
  { id: 'mobius-static-kv-mistral-opset24', input: dir('mobius-static-kv-mistral-opset24'), numBlocks: 2, hiddenSize: 64, dtype: 'float32', ids: 'int64', cache: 'static', output: 'logits', padding: 'right' },
];

export const BEAM_SEARCH = join(FIXTURES, 'ort-testdata-tiny-gpt2-beamsearch/tiny_gpt2_beamsearch.onnx');

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `onnx-steer-${prefix}-`));
}
