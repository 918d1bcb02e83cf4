/**
 * Hugging Face config.json → the normalised decoder description the builder
 * works from, through the family's adapter (src/families). Accepts both the
 * transformers 4 layout (`rope_theta`, `rope_scaling`, `architectures`) and
 * the transformers 5 one (`rope_parameters`, no `architectures`: the class is
 * found from `model_type`).
 */
import { CorruptFileError } from '../errors.js';
import { adapterFor, type DecoderConfig, type FamilyAdapter, type Json } from '../families/index.js';

export { SUPPORTED_ARCHITECTURES, resolveArchitecture } from '../families/index.js';
export type { Activation, DecoderConfig, RopeConfig } from '../families/index.js';

export interface ParsedConfig { cfg: DecoderConfig; adapter: FamilyAdapter }

export function parseConfig(raw: unknown, path: string): ParsedConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CorruptFileError(path, 'config is not a JSON object');
  const json = raw as Json;
  const { adapter, architecture } = adapterFor(json);
  return { cfg: adapter.parse(json, path, architecture), adapter };
}

export function parseDecoderConfig(raw: unknown, path: string): DecoderConfig {
  return parseConfig(raw, path).cfg;
}
