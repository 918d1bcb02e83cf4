/**
 * llama.cpp control vectors (GGUF), both ways.
 *
 * llama.cpp's loader (common/common.cpp) reads no metadata: it accepts only
 * F32 1-D tensors named `direction.N` (N ≥ 1), all of one length, and adds
 * direction.N (times the file's scale) to the output of block N, after the
 * FFN residual add: our `blocks.N.hook_resid_post`. Export therefore writes
 * only what llama.cpp would apply exactly as onnx-steer does, and refuses the
 * rest. Import accepts what repeng, llama.cpp's cvector-generator and
 * EasySteer write (they differ in layer_count's type and in extra keys) and
 * binds the directions to a given model after checking its hidden size and
 * block count; the GGUF carries no fingerprint, so the file's sha256 and
 * model hint are recorded as provenance.
 */
import { basename } from 'node:path';
import { ControlVectorFormatError, ExportRefusedError, ModelMismatchError, ShapeMismatchError } from '../errors.js';
import { sha256Files } from '../files/fs.js';
import { GgmlType, meta, metadataOf, readGguf, readGgufTensorBytes, writeGguf, type GgufFile, type GgufValue } from '../gguf/index.js';
import type { HooksManifest } from '../hooks/manifest.js';
import type { PositionSpec, SteeringOperator } from '../steering/plan.js';
import { SteeringVector, modelIdentity, type ModelLike } from '../vectors/vector.js';

const RESID_POST = /^blocks\.(\d+)\.hook_resid_post$/;
const RESID_PRE = /^blocks\.(\d+)\.hook_resid_pre$/;
const DIRECTION = /^direction\.(\d+)$/;

export interface ControlVectorExportOptions {
  /** Multiply the directions by this factor in the file (default: unscaled, pass the scale to llama.cpp). */
  scale?: number;
  /** The operator the vector is meant for; only `add` exists in llama.cpp. */
  operator?: SteeringOperator;
  /** Positions it is meant for; llama.cpp adds at every position. */
  positions?: PositionSpec;
  /** `controlvector.model_hint` (default: derived from the vector's architecture, e.g. LlamaForCausalLM → llama). */
  modelHint?: string;
  force?: boolean;
}

/** HF model_type from an architecture class name, the way repeng's model_hint reads. */
export function modelHintOf(architecture: string): string {
  const m = /^(.*?)(ForCausalLM|LMHeadModel|Model)$/.exec(architecture);
  return (m?.[1] ?? architecture).toLowerCase();
}

/** The layer → direction map llama.cpp would apply for this vector, or a refusal. */
export function controlVectorLayers(vector: SteeringVector, options: Pick<ControlVectorExportOptions, 'operator' | 'positions' | 'scale'> = {}): Map<number, Float32Array> {
  if (options.operator !== undefined && options.operator !== 'add') {
    throw new ExportRefusedError('OPERATOR', `llama.cpp control vectors only add; operator "${options.operator}" cannot be exported`);
  }
  if (options.positions !== undefined && options.positions !== 'all') {
    throw new ExportRefusedError('POSITIONS', `llama.cpp adds control vectors at every position; positions ${JSON.stringify(options.positions)} cannot be exported`);
  }
  const scale = options.scale ?? 1;
  if (!Number.isFinite(scale)) throw new ExportRefusedError('EMPTY', `--scale must be a finite number, got ${scale}`);
  const layers = new Map<number, Float32Array>();
  for (const site of vector.sites) {
    const post = RESID_POST.exec(site);
    const pre = RESID_PRE.exec(site);
    let layer: number;
    if (post) layer = Number(post[1]);
    else if (pre) layer = Number(pre[1]) - 1; // resid_pre of block N is resid_post of block N−1
    else {
      throw new ExportRefusedError('SITE', `llama.cpp applies control vectors only at block outputs (blocks.N.hook_resid_post); ${site} cannot be exported`);
    }
    if (layer < 1) {
      throw new ExportRefusedError('BLOCK_ZERO', `llama.cpp rejects direction.0: the output of block 0 (${site}) cannot be steered there`);
    }
    const dir = vector.direction(site);
    const acc = layers.get(layer) ?? new Float32Array(dir.length);
    for (let i = 0; i < dir.length; i++) acc[i] = (acc[i] as number) + scale * (dir[i] as number);
    layers.set(layer, acc);
  }
  if (layers.size === 0) throw new ExportRefusedError('EMPTY', 'the vector has no sites to export');
  return layers;
}

/**
 * Writes `vector` as a llama.cpp control vector (atomically). Tensors are
 * written from the highest layer down, as repeng does; llama.cpp does not
 * care about the order.
 */
export function exportControlVector(vector: SteeringVector, path: string, options: ControlVectorExportOptions = {}): { layers: number[]; scale: number } {
  const layers = controlVectorLayers(vector, options);
  const order = [...layers.keys()].sort((a, b) => b - a);
  const metadata: [string, GgufValue][] = [
    ['general.architecture', meta.string('controlvector')],
    ['controlvector.model_hint', meta.string(options.modelHint ?? modelHintOf(vector.meta.model.architecture))],
    ['controlvector.layer_count', meta.uint32(order.length)],
  ];
  writeGguf(path, metadata, order.map((layer) => {
    const data = layers.get(layer) as Float32Array;
    return { name: `direction.${layer}`, type: GgmlType.F32, dims: [data.length], data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  }), { force: options.force ?? false });
  return { layers: order, scale: options.scale ?? 1 };
}

/** What a control-vector file says about itself. */
export interface ControlVectorInfo {
  path: string;
  sha256: string;
  modelHint?: string;
  /** layer_count as stored, with its type (uint32 from repeng, int32 from cvector-generator). */
  layerCount?: { value: number; type: string };
  /** EasySteer's `controlvector.method`. */
  method?: string;
  /** Which tool wrote it, judged from the metadata. */
  producer: 'repeng' | 'cvector-generator' | 'easysteer' | 'unknown';
  nEmbd: number;
  /** layer → direction (float32, as stored). */
  directions: Map<number, Float32Array>;
}

function guessProducer(file: GgufFile): ControlVectorInfo['producer'] {
  if (metadataOf(file, 'controlvector.method', 'string') !== undefined) return 'easysteer';
  const lc = file.metadata.get('controlvector.layer_count');
  if (lc?.type === 'int32') return 'cvector-generator';
  if (lc?.type === 'uint32') return 'repeng';
  return 'unknown';
}

/** Reads and validates a control vector exactly by llama.cpp's loader rules. */
export function readControlVector(path: string): ControlVectorInfo {
  const file = readGguf(path);
  const fail = (reason: ConstructorParameters<typeof ControlVectorFormatError>[1], detail: string): never => {
    throw new ControlVectorFormatError(path, reason, detail);
  };
  const arch = file.metadata.get('general.architecture');
  if (arch !== undefined && !(arch.type === 'string' && arch.value === 'controlvector')) {
    fail('BAD_METADATA', `general.architecture is ${JSON.stringify(arch.value)}, not "controlvector": this is not a control vector`);
  }
  if (file.tensors.length === 0) fail('NO_DIRECTIONS', 'no direction.N tensors');
  const directions = new Map<number, Float32Array>();
  let nEmbd = -1;
  for (const t of file.tensors) {
    const m = DIRECTION.exec(t.name);
    if (!m) fail('BAD_TENSOR_NAME', `tensor "${t.name}" is not named direction.N; llama.cpp refuses the whole file`);
    const layer = Number(m?.[1]);
    if (layer === 0) fail('ZERO_LAYER', 'direction.0 is invalid: llama.cpp cannot steer the output of block 0 and refuses the file');
    if (directions.has(layer)) fail('DUPLICATE_LAYER', `two tensors give direction ${layer}`);
    if (t.type !== GgmlType.F32) fail('BAD_DTYPE', `"${t.name}" is ${t.typeName}; control vectors must be F32`);
    if (t.dims.length !== 1) fail('BAD_SHAPE', `"${t.name}" has ${t.dims.length} dims [${t.dims.join(', ')}]; control vectors must be 1-D`);
    const len = t.dims[0] ?? 0;
    if (nEmbd < 0) nEmbd = len;
    else if (len !== nEmbd) fail('LENGTH_MISMATCH', `"${t.name}" has ${len} values, other directions have ${nEmbd}`);
    const raw = readGgufTensorBytes(file, t);
    const v = new Float32Array(len);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < len; i++) {
      const x = view.getFloat32(i * 4, true);
      if (!Number.isFinite(x)) fail('NOT_FINITE', `"${t.name}" has a non-finite value (${x}) at index ${i}`);
      v[i] = x;
    }
    directions.set(layer, v);
  }
  const info: ControlVectorInfo = { path, sha256: sha256Files([path]), producer: guessProducer(file), nEmbd, directions };
  const hint = metadataOf(file, 'controlvector.model_hint', 'string');
  if (hint !== undefined) info.modelHint = hint;
  const lc = file.metadata.get('controlvector.layer_count');
  if (lc !== undefined && typeof lc.value === 'number') info.layerCount = { value: lc.value, type: lc.type };
  const method = metadataOf(file, 'controlvector.method', 'string');
  if (method !== undefined) info.method = method;
  return info;
}

export interface ImportControlVectorOptions {
  /** The model the directions are for (a HookedModel or its manifest). */
  model: ModelLike;
  name?: string;
}

/**
 * Imports a control vector as a SteeringVector bound to `model`: direction.N
 * becomes blocks.N.hook_resid_post. Refuses a hidden-size mismatch (llama.cpp
 * would fail context creation) and directions past the model's last block
 * (llama.cpp would silently ignore them: a file for another model).
 */
export function importControlVector(path: string, options: ImportControlVectorOptions): SteeringVector {
  const info = readControlVector(path);
  const man: HooksManifest = 'manifest' in options.model ? options.model.manifest : options.model;
  if (info.nEmbd !== man.hiddenSize) {
    throw new ShapeMismatchError(`${path}: directions have n_embd ${info.nEmbd}, the model's hidden size is ${man.hiddenSize}`);
  }
  const beyond = [...info.directions.keys()].filter((l) => l >= man.numBlocks);
  if (beyond.length > 0) {
    throw new ModelMismatchError(`${path}: direction.${Math.max(...beyond)} needs at least ${Math.max(...beyond) + 1} blocks, the model has ${man.numBlocks} (a file for another model?)`);
  }
  const siteNames = new Set(man.sites.map((s) => s.name));
  const dirs = new Map<string, Float32Array>();
  for (const layer of [...info.directions.keys()].sort((a, b) => a - b)) {
    const site = `blocks.${layer}.hook_resid_post`;
    if (!siteNames.has(site)) throw new ModelMismatchError(`${path}: direction.${layer} maps to ${site}, which this model does not hook`);
    dirs.set(site, info.directions.get(layer) as Float32Array);
  }
  const provenance = [
    `imported from GGUF control vector ${basename(path)}`,
    `sha256 ${info.sha256}`,
    `producer ${info.producer}`,
    info.modelHint !== undefined ? `model_hint "${info.modelHint}"` : 'no model_hint',
    info.layerCount !== undefined ? `layer_count ${info.layerCount.value} (${info.layerCount.type})` : 'no layer_count',
    ...(info.method !== undefined ? [`method "${info.method}"`] : []),
  ].join('; ');
  return SteeringVector.create(dirs, {
    model: modelIdentity(man),
    method: info.method !== undefined ? `gguf:${info.method}` : 'gguf',
    name: options.name ?? basename(path).replace(/\.gguf$/i, ''),
    derivation: provenance,
  });
}
