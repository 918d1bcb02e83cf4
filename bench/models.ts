/** Models for benchmarks: the default model and random-init builds of larger shapes. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildModel } from '../src/builder/index.js';
import { manifestPath } from '../src/hooks/manifest.js';
import { cacheDir, defaultModelDir, resolveDefaultCheckpoint } from '../src/model/default-model.js';

export const SMOLLM2_135M = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama',
  hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3,
  vocab_size: 49152, tie_word_embeddings: true, rms_norm_eps: 1e-5, rope_theta: 100000, max_position_embeddings: 8192,
  hidden_act: 'silu', bos_token_id: 1, eos_token_id: 2,
};

export const QWEN25_05B = {
  architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2',
  hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2,
  vocab_size: 151936, tie_word_embeddings: true, rms_norm_eps: 1e-6, rope_theta: 1000000, max_position_embeddings: 32768,
  hidden_act: 'silu', bos_token_id: 151643, eos_token_id: 151645,
};

export function benchDir(): string {
  const d = join(cacheDir(), 'bench');
  mkdirSync(d, { recursive: true });
  return d;
}

export type HookSet = 'all' | 'post' | 'none';

/** A random-init build of a config shape (seed 0): every hook site, `hook_resid_post` only, or none. Built once per cache. */
export async function randomModel(name: string, config: object, hooks: HookSet): Promise<string> {
  const dir = join(benchDir(), `${name}-${hooks === 'all' ? 'hooked' : hooks === 'post' ? 'post-only' : 'plain'}`);
  if (existsSync(manifestPath(dir))) return dir;
  const cfgDir = join(benchDir(), `${name}-config`);
  mkdirSync(cfgDir, { recursive: true });
  writeFileSync(join(cfgDir, 'config.json'), JSON.stringify(config, null, 2));
  const sites = hooks === 'all' ? {} : { sites: hooks === 'post' ? ['hook_resid_post'] : [] };
  await buildModel(cfgDir, dir, { randomInit: { seed: 0 }, force: true, ...sites });
  return dir;
}

/** The default model built without hooks (same weights, plain graph). */
export async function defaultPlainModel(): Promise<string> {
  const dir = join(benchDir(), 'tinystories-656k-plain');
  if (!existsSync(manifestPath(dir))) await buildModel(await resolveDefaultCheckpoint(), dir, { sites: [], force: true });
  return dir;
}

export { defaultModelDir };

/** A detokenizer for models without tokenizer files: ids only, no EOS. */
export const idsOnly = { decode: (ids: readonly number[]) => ids.join(' '), eosIds: [] as number[] };
