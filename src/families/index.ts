/**
 * The architecture adapters, one file per family. The builder
 * (safetensors → hooked ONNX) and the instrumenter's structural checks look
 * families up here; adding a family is its adapter file, its entry in
 * {@link ADAPTERS}, and its row in test/families/contract.test.ts.
 */
import { UnsupportedArchitectureError } from '../errors.js';
import { gemma } from './gemma.js';
import { gemma2 } from './gemma2.js';
import { gpt2 } from './gpt2.js';
import { gptNeox } from './gpt-neox.js';
import { gptj } from './gptj.js';
import { llama } from './llama.js';
import { mistral } from './mistral.js';
import { phi } from './phi.js';
import { phi3 } from './phi3.js';
import { qwen2 } from './qwen2.js';
import { qwen3 } from './qwen3.js';
import type { FamilyAdapter, Json } from './types.js';

export type * from './types.js';

export const ADAPTERS: readonly FamilyAdapter[] = [llama, mistral, qwen2, phi3, gpt2, qwen3, gemma, gemma2, gptj, phi, gptNeox];

/** Every Hugging Face class name an adapter reads, in registry order. */
export const SUPPORTED_ARCHITECTURES: readonly string[] = ADAPTERS.flatMap((a) => a.architectures);

const MODEL_TYPES: Readonly<Record<string, string>> = Object.assign({}, ...ADAPTERS.map((a) => a.modelTypes)) as Record<string, string>;

/** The architecture class from `architectures[0]` or `model_type`. */
export function resolveArchitecture(cfg: Json): string | undefined {
  const list = cfg.architectures;
  if (Array.isArray(list) && typeof list[0] === 'string') return list[0];
  const type = cfg.model_type;
  if (typeof type === 'string') return MODEL_TYPES[type] ?? type;
  return undefined;
}

export function findAdapter(architecture: string | undefined): FamilyAdapter | undefined {
  return architecture ? ADAPTERS.find((a) => a.architectures.includes(architecture)) : undefined;
}

/** The adapter for a config, or a typed error naming the supported classes. */
export function adapterFor(cfg: Json): { adapter: FamilyAdapter; architecture: string } {
  const architecture = resolveArchitecture(cfg);
  const adapter = findAdapter(architecture);
  if (!adapter || !architecture) {
    throw new UnsupportedArchitectureError(`unsupported architecture ${architecture ?? '(none named in config.json)'}; supported: ${SUPPORTED_ARCHITECTURES.join(', ')}`);
  }
  return { adapter, architecture };
}
