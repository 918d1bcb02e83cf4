/** Reading config.json fields with typed errors, shared by the adapters. */
import { CorruptFileError, UnsupportedArchitectureError } from '../errors.js';
import type { Activation, Json, RopeConfig } from './types.js';

export function num(cfg: Json, key: string, path: string, fallback?: number): number {
  const v = cfg[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new CorruptFileError(path, `config is missing "${key}"`);
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new CorruptFileError(path, `config field "${key}" must be a number, got ${JSON.stringify(v)}`);
  return v;
}

export function posInt(cfg: Json, key: string, path: string, fallback?: number): number {
  const v = num(cfg, key, path, fallback);
  if (!Number.isInteger(v) || v <= 0) throw new CorruptFileError(path, `config field "${key}" must be a positive integer, got ${v}`);
  return v;
}

export function optionalNumber(cfg: Json, key: string): number | undefined {
  const v = cfg[key];
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;
}

export function checkHeads(path: string, headDim: number, numHeads: number, numKvHeads: number): void {
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) throw new CorruptFileError(path, `head size ${headDim} must be an even integer`);
  if (numHeads % numKvHeads !== 0) throw new CorruptFileError(path, `num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`);
}

const ACTIVATIONS: Readonly<Record<string, Activation>> = { silu: 'silu', gelu_new: 'gelu_tanh', gelu_pytorch_tanh: 'gelu_tanh', gelu: 'gelu' };

/** Maps an activation name, allowing only `allowed`. */
export function activation(arch: string, key: string, value: unknown, allowed: readonly string[]): Activation {
  const act = typeof value === 'string' && allowed.includes(value) ? ACTIVATIONS[value] : undefined;
  if (!act) throw new UnsupportedArchitectureError(`${arch} with ${key} ${JSON.stringify(value)} is not supported (${allowed.join(', ')})`);
  return act;
}

/** Per-layer window from `layer_types` (sliding_attention) or, failing that, the same window everywhere. */
export function slidingWindows(cfg: Json, numLayers: number, everyLayer: (layer: number) => boolean = () => true): (number | undefined)[] {
  const window = typeof cfg.sliding_window === 'number' && cfg.sliding_window > 0 ? cfg.sliding_window : undefined;
  const types = cfg.layer_types;
  return Array.from({ length: numLayers }, (_, i) => {
    if (window === undefined) return undefined;
    if (Array.isArray(types) && types.length > i) return types[i] === 'sliding_attention' ? window : undefined;
    return everyLayer(i) ? window : undefined;
  });
}

export interface RopeOptions {
  /** Whether the family applies partial rotary embeddings (else a factor ≠ 1 is rejected). */
  partial?: boolean;
  /** Rotary dimension read by the family (GPT-J's rotary_dim), overriding partial_rotary_factor. */
  rotaryDim?: number;
  interleaved?: boolean;
  /** Extra keys naming theta (NeoX's rotary_emb_base). */
  thetaKey?: string;
}

export function parseRope(cfg: Json, path: string, headDim: number, options: RopeOptions = {}): RopeConfig {
  const params = (typeof cfg.rope_parameters === 'object' && cfg.rope_parameters !== null ? cfg.rope_parameters : undefined) as Json | undefined;
  const scaling = (typeof cfg.rope_scaling === 'object' && cfg.rope_scaling !== null ? cfg.rope_scaling : undefined) as Json | undefined;
  const src: Json = { ...(scaling ?? {}), ...(params ?? {}) };
  const thetaSource = params && params.rope_theta !== undefined ? params : options.thetaKey && cfg[options.thetaKey] !== undefined ? { rope_theta: cfg[options.thetaKey] } : cfg;
  const theta = num(thetaSource, 'rope_theta', path, 10000);
  const rawType = src.rope_type ?? src.type ?? 'default';
  const partial = src.partial_rotary_factor ?? cfg.partial_rotary_factor ?? cfg.rotary_pct;
  let rotaryDim = options.rotaryDim ?? headDim;
  if (options.rotaryDim === undefined && partial !== undefined && partial !== null && partial !== 1) {
    if (!options.partial || typeof partial !== 'number' || !(partial > 0 && partial < 1)) {
      throw new UnsupportedArchitectureError(`partial rotary embeddings (partial_rotary_factor ${JSON.stringify(partial)}) are not supported`);
    }
    rotaryDim = Math.floor(headDim * partial);
  }
  if (!Number.isInteger(rotaryDim) || rotaryDim <= 0 || rotaryDim > headDim || rotaryDim % 2 !== 0) {
    throw new CorruptFileError(path, `rotary dimension ${rotaryDim} must be an even integer in 2..${headDim}`);
  }
  const base: RopeConfig = { theta, type: 'default', factor: 1, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192, rotaryDim, interleaved: options.interleaved ?? false };
  if (rawType === 'default') return base;
  if (rawType === 'linear') return { ...base, type: 'linear', factor: num(src, 'factor', path) };
  if (rawType === 'llama3') {
    return {
      ...base,
      type: 'llama3',
      factor: num(src, 'factor', path),
      lowFreqFactor: num(src, 'low_freq_factor', path, 1),
      highFreqFactor: num(src, 'high_freq_factor', path, 4),
      originalMaxPositions: num(src, 'original_max_position_embeddings', path, 8192),
    };
  }
  throw new UnsupportedArchitectureError(`rope scaling type ${JSON.stringify(rawType)} is not supported (supported: default, linear, llama3)`);
}
