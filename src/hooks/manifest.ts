/**
 * hooks.json: the manifest that sits beside a hooked model.onnx and tells the
 * runtime everything about it: architecture, hook sites, inputs, KV-cache
 * layout, dtype and the fingerprint of the source the hooks were made from.
 */
import { join } from 'node:path';
import { CorruptFileError } from '../errors.js';
import { atomicWriteFile, readJsonFile } from '../files/fs.js';

export const MANIFEST_FILE = 'hooks.json';
export const MANIFEST_FORMAT = 'onnx-steer.hooks';
export const MANIFEST_VERSION = 1;

export type FloatDtype = 'float32' | 'float16';
export type IdDtype = 'int64' | 'int32';

export interface HookSiteInfo {
  /** Canonical name, e.g. `blocks.3.hook_resid_post`. */
  name: string;
  block: number;
  /** Graph output carrying the residual after any steering at this site. */
  capture: string;
  /** Graph input `s` added to the residual (zeros by default). */
  steer: string;
  /** Graph input `r`: unit direction projected out of the residual (zeros by default). */
  ablate: string;
  /** Graph input `g` of the norm-preserving gate, when the site has one (see hooks/insert.ts). */
  renorm?: string;
  /** Graph inputs V and U ([batch|1, seq|1, hidden, r]) of the low-rank map h + (hV)Uᵀ, when the site has one (see hooks/lowrank.ts). */
  lowRank?: { v: string; u: string };
  /** The tensor in the source graph the site was attached to. */
  sourceTensor: string;
}

export interface NamedInput { name: string; dtype: IdDtype }

/**
 * KV-cache layouts.
 * - `bnsh`: separate key/value tensors [batch, kv_heads, seq, head_dim] per layer
 *   (Optimum, transformers.js, onnxruntime-genai).
 * - `stacked`: one tensor [2, batch, heads, seq, head_dim] per layer (GPT-2 ORT exports).
 * - `static`: fixed-capacity buffers [batch, max_len, kv_heads*head_dim] written
 *   at `write_indices` (mobius static cache).
 */
export type CacheKind = 'bnsh' | 'stacked' | 'static';

export interface CacheLayerNames { key: string; value: string }

export interface CacheLayout {
  kind: CacheKind;
  dtype: FloatDtype;
  numLayers: number;
  numKvHeads: number;
  headDim: number;
  /** For `bnsh`: per-layer past inputs and present outputs. */
  past?: CacheLayerNames[];
  present?: CacheLayerNames[];
  /** For `stacked`: per-layer past input and present output names. */
  pastStacked?: string[];
  presentStacked?: string[];
  /** For `static`: capacity and the extra index inputs. */
  maxLength?: number;
  writeIndices?: string;
  validLength?: string;
}

export interface HooksManifest {
  format: typeof MANIFEST_FORMAT;
  version: typeof MANIFEST_VERSION;
  /** e.g. LlamaForCausalLM, GPT2LMHeadModel, or a structural description. */
  architecture: string;
  /** How the hooks were made. */
  origin: { kind: 'build' | 'instrument'; producer?: string; source?: string };
  model: string;
  numBlocks: number;
  hiddenSize: number;
  vocabSize?: number;
  /** dtype of the residual stream, hook inputs and cache. */
  dtype: FloatDtype;
  inputs: {
    inputIds: NamedInput;
    attentionMask?: NamedInput;
    positionIds?: NamedInput;
    /** Boolean input of an Optimum merged decoder: fed true when the cache is non-empty. */
    useCacheBranch?: string;
    /** Largest supported number of tokens per run (e.g. 1 for decode-only graphs). */
    maxSequence?: number;
    /**
     * Which padding the graph's attention supports for batched prompts of
     * different lengths: `left` (explicit masks), `right` (seqlens-style
     * attention such as GroupQueryAttention) or `none` (same-length rows only).
     */
    padding?: 'left' | 'right' | 'none';
  };
  outputs: { logits?: string; lastHidden?: string };
  sites: HookSiteInfo[];
  cache: CacheLayout;
  /** sha256 over the source graph and weights (or checkpoint files). */
  fingerprint: string;
  maxPositions?: number;
  tokenizer?: { files: string[] };
  library: { name: string; version: string };
}

export function manifestPath(dir: string): string {
  return join(dir, MANIFEST_FILE);
}

export function writeManifest(dir: string, manifest: HooksManifest): void {
  atomicWriteFile(manifestPath(dir), `${JSON.stringify(manifest, null, 2)}\n`);
}

export function readManifest(dir: string): HooksManifest {
  const path = manifestPath(dir);
  const m = readJsonFile<Partial<HooksManifest>>(path, 'hooks.json (not a hooked model directory?)');
  if (m.format !== MANIFEST_FORMAT) throw new CorruptFileError(path, `not an onnx-steer manifest (format ${String(m.format)})`);
  if (m.version !== MANIFEST_VERSION) throw new CorruptFileError(path, `unsupported manifest version ${String(m.version)}`);
  for (const key of ['architecture', 'model', 'numBlocks', 'hiddenSize', 'dtype', 'inputs', 'outputs', 'sites', 'cache', 'fingerprint'] as const) {
    if (m[key] === undefined) throw new CorruptFileError(path, `missing field "${key}"`);
  }
  return m as HooksManifest;
}
