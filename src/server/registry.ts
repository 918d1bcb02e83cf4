/**
 * The server's steering vectors: every vector file in `--vectors dir`,
 * loaded and checked against the served model at start, addressed by file
 * stem (`joy` for joy.json). Request paths are resolved only under the
 * directory the operator allowed, and checked before anything is read.
 */
import { readdirSync, realpathSync, existsSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { HooksManifest } from '../hooks/manifest.js';
import { checksumOf } from '../vectors/checksum.js';
import { SteeringVector } from '../vectors/vector.js';
import { badRequest } from './errors.js';

export interface RegistryEntry {
  name: string;
  file: string;
  vector?: SteeringVector;
  /** Why the vector cannot steer this model (another model, missing sites, corrupt file). */
  problem?: string;
}

export interface VectorInfo {
  id: string;
  object: 'steering.vector';
  compatible: boolean;
  sites?: string[];
  /** checksumOf() of the directions: how clients match a local vector file to this entry. */
  checksum?: string;
  method?: string;
  recommended_strength?: { min: number; max: number };
  problem?: string;
}

export class VectorRegistry {
  private readonly entries = new Map<string, RegistryEntry>();
  private readonly manifest: HooksManifest;
  private readonly allowedRoot: string | undefined;

  constructor(manifest: HooksManifest, options: { dir?: string; allowPaths?: string } = {}) {
    this.manifest = manifest;
    if (options.dir) this.loadDir(options.dir);
    this.allowedRoot = options.allowPaths ? realpathSync(resolve(options.allowPaths)) : undefined;
  }

  private loadDir(dir: string): void {
    for (const f of readdirSync(dir).sort()) {
      if (!f.endsWith('.json') || f.endsWith('.effect.json')) continue;
      const file = join(dir, f);
      const name = basename(f, '.json');
      const entry: RegistryEntry = { name, file };
      try {
        const v = SteeringVector.load(file);
        entry.vector = v;
        v.check(this.manifest);
      } catch (err) {
        if (!entry.vector) continue; // not a vector file (prompts, reports): not part of the registry
        entry.problem = (err as Error).message.split('\n')[0];
      }
      this.entries.set(name, entry);
    }
  }

  list(): VectorInfo[] {
    return [...this.entries.values()].map((e) => ({
      id: e.name, object: 'steering.vector' as const, compatible: e.problem === undefined,
      ...(e.vector ? { sites: e.vector.sites, checksum: checksumOf(e.vector), method: e.vector.meta.method } : {}),
      ...(e.vector?.meta.recommendedStrength ? { recommended_strength: e.vector.meta.recommendedStrength } : {}),
      ...(e.problem ? { problem: e.problem } : {}),
    }));
  }

  get size(): number { return this.entries.size; }

  /** The vector a request's `source` names. Throws a 400 ApiError otherwise. */
  resolve(source: unknown, param: string): SteeringVector {
    if (typeof source !== 'string' || source.length === 0) throw badRequest('steering vector "source" must be a non-empty string', param);
    const entry = this.entries.get(source) ?? this.entries.get(source.replace(/\.json$/, ''));
    if (entry) {
      if (entry.problem || !entry.vector) throw badRequest(`steering vector "${source}" cannot steer this model: ${entry.problem ?? 'unreadable'}`, param, 'vector_mismatch');
      return entry.vector;
    }
    const looksLikePath = source.includes('/') || source.includes('\\') || source.endsWith('.json') || source.startsWith('.');
    if (!looksLikePath) throw badRequest(`unknown steering vector "${source}" (GET /v1/steering/vectors lists them)`, param, 'vector_not_found');
    if (!this.allowedRoot) throw badRequest('steering vector paths are not allowed on this server (start it with --allow-vector-paths <dir>)', param, 'vector_paths_disabled');
    const path = this.checkPath(source, param);
    try {
      return SteeringVector.load(path, { model: this.manifest });
    } catch (err) {
      throw badRequest(`steering vector "${source}": ${(err as Error).message.split('\n')[0] ?? ''}`, param, 'vector_invalid');
    }
  }

  /** A path under the allowed root, refused lexically before any file is touched, then checked again after symlinks. */
  private checkPath(source: string, param: string): string {
    const root = this.allowedRoot as string;
    if (isAbsolute(source) || source.split(/[\\/]/).includes('..') || source.includes('\0')) {
      throw badRequest(`steering vector path "${source}" must be relative to the allowed directory, without ".."`, param, 'path_not_allowed');
    }
    const path = resolve(root, source);
    const rel = relative(root, path);
    if (rel.startsWith('..') || isAbsolute(rel)) throw badRequest(`steering vector path "${source}" is outside the allowed directory`, param, 'path_not_allowed');
    if (!existsSync(path) || !statSync(path).isFile()) throw badRequest(`steering vector file "${source}" not found`, param, 'vector_not_found');
    const real = realpathSync(path);
    if (real !== root && !real.startsWith(root + sep)) throw badRequest(`steering vector path "${source}" leads outside the allowed directory`, param, 'path_not_allowed');
    return real;
  }
}
