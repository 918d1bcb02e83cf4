/**
 * Where the weights come from: a Hugging Face checkpoint directory (one
 * model.safetensors, or shards listed by model.safetensors.index.json), or a
 * seeded random initialisation from config.json alone.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { CorruptFileError, FileNotFoundError, UnsupportedDtypeError } from '../errors.js';
import { readJsonFile, sha256Bytes, sha256Files } from '../files/fs.js';
import { Rng, fillNormal } from '../math/rng.js';
import { FLOAT_DTYPES, SafetensorsFile, isFloatDtype, type TensorEntry } from '../files/safetensors.js';

export interface WeightSource {
  /** Short description for errors. */
  readonly label: string;
  has(name: string): boolean;
  shape(name: string): readonly number[] | undefined;
  /** Float32 copy of a tensor (a fresh buffer the caller may modify). */
  read(name: string): Float32Array;
  /** Throws a typed error unless the tensor exists with this shape and a float dtype. */
  check(name: string, shape: readonly number[]): void;
}

export interface ResolvedSource {
  /** Directory holding config.json and the tokenizer files. */
  dir: string;
  configPath: string;
  /** The config text, exactly as read (hashed for random-init fingerprints). */
  configText: string;
  config: unknown;
}

/** Finds config.json for a checkpoint directory, or a config.json path when `allowConfigFile`. */
export function resolveSource(source: string, allowConfigFile: boolean): ResolvedSource {
  const path = resolve(source);
  if (!existsSync(path)) throw new FileNotFoundError(path, 'checkpoint');
  let dir: string;
  let configPath: string;
  if (statSync(path).isDirectory()) {
    dir = path;
    configPath = join(path, 'config.json');
  } else if (allowConfigFile && path.endsWith('.json')) {
    dir = dirname(path);
    configPath = path;
  } else if (path.endsWith('.safetensors') || basename(path) === 'config.json') {
    dir = dirname(path);
    configPath = join(dir, 'config.json');
  } else {
    throw new CorruptFileError(path, 'expected a checkpoint directory (config.json + model.safetensors)');
  }
  if (!existsSync(configPath)) throw new FileNotFoundError(configPath, 'config.json');
  const configText = readFileSync(configPath, 'utf8');
  const config = readJsonFile<unknown>(configPath, 'config.json');
  return { dir, configPath, configText, config };
}

const INDEX_FILE = 'model.safetensors.index.json';
const SINGLE_FILE = 'model.safetensors';

export class SafetensorsCheckpoint implements WeightSource {
  readonly label: string;
  /** The safetensors files, sorted by name. */
  readonly files: string[];
  private readonly where = new Map<string, SafetensorsFile>();

  constructor(dir: string) {
    this.label = dir;
    const indexPath = join(dir, INDEX_FILE);
    const singlePath = join(dir, SINGLE_FILE);
    const opened: SafetensorsFile[] = [];
    if (existsSync(indexPath)) {
      const index = readJsonFile<{ weight_map?: Record<string, string> }>(indexPath, INDEX_FILE);
      const map = index.weight_map;
      if (typeof map !== 'object' || map === null) throw new CorruptFileError(indexPath, 'has no "weight_map"');
      const shards = [...new Set(Object.values(map))].sort();
      for (const shard of shards) {
        if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\')) throw new CorruptFileError(indexPath, `invalid shard name ${JSON.stringify(shard)}`);
        const shardPath = join(dir, shard);
        if (!existsSync(shardPath)) throw new FileNotFoundError(shardPath, `shard listed in ${INDEX_FILE}`);
        opened.push(SafetensorsFile.open(shardPath));
      }
      const byPath = new Map(opened.map((f) => [basename(f.path), f]));
      for (const [name, shard] of Object.entries(map)) {
        const file = byPath.get(shard);
        if (!file?.get(name)) throw new CorruptFileError(join(dir, shard), `tensor "${name}" listed in ${INDEX_FILE} is missing from the shard`);
        this.where.set(name, file);
      }
    } else if (existsSync(singlePath)) {
      const file = SafetensorsFile.open(singlePath);
      opened.push(file);
      for (const name of file.tensors.keys()) this.where.set(name, file);
    } else {
      const other = readdirSync(dir).filter((f) => f.endsWith('.safetensors'));
      const hint = other.length > 0 ? ` (found ${other.join(', ')} but no ${INDEX_FILE})` : '';
      throw new FileNotFoundError(singlePath, `checkpoint weights${hint}`);
    }
    this.files = opened.map((f) => f.path).sort();
  }

  private entry(name: string): TensorEntry | undefined {
    return this.where.get(name)?.get(name);
  }

  has(name: string): boolean { return this.where.has(name); }
  shape(name: string): readonly number[] | undefined { return this.entry(name)?.shape; }

  read(name: string): Float32Array {
    const file = this.where.get(name);
    if (!file) throw new CorruptFileError(this.label, `checkpoint has no tensor "${name}"`);
    return file.readFloat32(name);
  }

  check(name: string, shape: readonly number[]): void {
    const file = this.where.get(name);
    const entry = file?.get(name);
    if (!file || !entry) throw new CorruptFileError(this.label, `checkpoint has no tensor "${name}"`);
    if (!isFloatDtype(entry.dtype)) {
      throw new UnsupportedDtypeError(`${file.path}: tensor "${name}" has dtype ${entry.dtype}; only ${FLOAT_DTYPES.join(', ')} are supported`);
    }
    if (entry.shape.length !== shape.length || entry.shape.some((d, i) => d !== shape[i])) {
      throw new CorruptFileError(file.path, `tensor "${name}" has shape [${entry.shape.join(', ')}], config implies [${shape.join(', ')}]`);
    }
  }

  /** sha256 over config.json and the safetensors files (sorted). */
  fingerprint(configPath: string): string {
    return sha256Files([configPath, ...this.files]);
  }
}

export type InitKind = 'normal' | 'ones' | 'zeros';

export interface TensorSpec { name: string; shape: number[]; init: InitKind }

/** Seeded random weights for the tensors a config implies (normal(0, std) matrices, unit norms, zero biases). */
export class RandomWeights implements WeightSource {
  readonly label: string;
  private readonly specs = new Map<string, TensorSpec>();
  private readonly std: number;
  private readonly seed: number;

  constructor(specs: readonly TensorSpec[], seed: number, std: number) {
    this.label = `random-init:${seed}`;
    for (const s of specs) this.specs.set(s.name, s);
    this.seed = seed;
    this.std = std;
  }

  has(name: string): boolean { return this.specs.has(name); }
  shape(name: string): readonly number[] | undefined { return this.specs.get(name)?.shape; }

  read(name: string): Float32Array {
    const spec = this.specs.get(name);
    if (!spec) throw new CorruptFileError(this.label, `no tensor "${name}"`);
    const out = new Float32Array(spec.shape.reduce((a, b) => a * b, 1));
    if (spec.init === 'ones') out.fill(1);
    else if (spec.init === 'normal') fillNormal(new Rng(this.seed ^ hashName(name)), out, this.std);
    return out;
  }

  check(name: string, shape: readonly number[]): void {
    const s = this.specs.get(name);
    if (!s || s.shape.join(',') !== shape.join(',')) throw new CorruptFileError(this.label, `no tensor "${name}" of shape [${shape.join(', ')}]`);
  }

  static fingerprint(configText: string, seed: number): string {
    return sha256Bytes(`${configText}random-init:${seed}`);
  }
}

/** FNV-1a of a tensor name, so each tensor's values do not depend on read order. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
