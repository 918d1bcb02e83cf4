/**
 * The architecture adapters. The builder (safetensors → hooked ONNX) and the
 * instrumenter's structural checks look families up here. Each family is one
 * file in ./adapters/ default-exporting its FamilyAdapter (shared pieces live
 * beside this file: llama-layout.ts, parallel.ts, fields.ts, tensors.ts).
 * Adding a family is that file, `npx tsx scripts/registries.ts` (which
 * rewrites builtin.generated.ts; npm test and build run it), and its row in
 * test/families/contract.test.ts, which fails until the row exists.
 */
import { UnsupportedArchitectureError } from '../errors.js';
import { BUILTIN_ADAPTERS } from './builtin.generated.js';
import type { FamilyAdapter, Json } from './types.js';

export type * from './types.js';

/** Every adapter, in file-name order. */
export const ADAPTERS: readonly FamilyAdapter[] = BUILTIN_ADAPTERS;

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
