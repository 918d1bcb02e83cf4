/**
 * Whether two models can be compared token by token: a policy and its
 * references must read the same ids the same way. We compare the vocabulary
 * size and a fingerprint of the tokenizer's vocabulary (the tokenizer.json
 * model section, added tokens, normaliser and pre-tokeniser, canonicalised),
 * so that formatting differences in the file do not matter but any change to
 * what text maps to which id does.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ModelMismatchError } from '../errors.js';
import { readManifest } from '../hooks/manifest.js';
import type { HookedModel } from '../model/hooked-model.js';
import { readJsonFile } from '../files/fs.js';

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = canonical((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

const fingerprints = new Map<string, string>();

/** sha256 of the parts of tokenizer.json that decide text → ids (cached per directory). */
export function tokenizerFingerprint(dir: string): string {
  const cached = fingerprints.get(dir);
  if (cached) return cached;
  const path = join(dir, 'tokenizer.json');
  if (!existsSync(path)) return 'none';
  const json = readJsonFile<Record<string, unknown>>(path, 'tokenizer.json');
  const parts = { model: json.model, added_tokens: json.added_tokens, normalizer: json.normalizer, pre_tokenizer: json.pre_tokenizer };
  const fp = createHash('sha256').update(JSON.stringify(canonical(parts))).digest('hex');
  fingerprints.set(dir, fp);
  return fp;
}

/** Throws a ModelMismatchError naming both models when their vocabularies or tokenizers differ. */
export function checkSameVocabulary(a: HookedModel, b: HookedModel, roles: [string, string] = ['policy', 'reference']): void {
  if (a === b) return;
  checkSameVocabularyDirs(a.dir, b.dir, roles);
}

/** The same check on hooked model directories, before any session is opened. */
export function checkSameVocabularyDirs(a: string, b: string, roles: [string, string] = ['policy', 'reference']): void {
  if (a === b) return;
  const va = readManifest(a).vocabSize;
  const vb = readManifest(b).vocabSize;
  if (va !== undefined && vb !== undefined && va !== vb) {
    throw new ModelMismatchError(`the ${roles[0]} ${a} has a vocabulary of ${va} tokens, the ${roles[1]} ${b} of ${vb}: log-probs are not comparable`);
  }
  if (tokenizerFingerprint(a) !== tokenizerFingerprint(b)) {
    throw new ModelMismatchError(`the ${roles[0]} ${a} and the ${roles[1]} ${b} have different tokenizers: log-probs are not comparable`);
  }
}
