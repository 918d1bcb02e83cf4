/**
 * Resolving what the user pointed at: an .onnx file, or a directory holding
 * one (directly or in an `onnx/` subfolder, the Optimum / transformers.js
 * layout). Also finds the tokenizer and config files that travel with a model.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { FileNotFoundError, InvalidArgumentError } from '../errors.js';

/** Files copied beside an instrumented model when found next to the source. */
export const COMPANION_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json', 'config.json'] as const;

/** Preferred graph names when a directory holds several. */
const PREFERRED = ['model.onnx', 'decoder_model_merged.onnx', 'decoder.onnx'];

function onnxFilesIn(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.toLowerCase().endsWith('.onnx') && statSync(join(dir, f)).isFile()).sort();
}

/** The .onnx file for `input` (a file or a directory). */
export function locateOnnx(input: string): string {
  const path = resolve(input);
  if (!existsSync(path)) throw new FileNotFoundError(path, 'ONNX model or model directory');
  if (!statSync(path).isDirectory()) return path;
  for (const dir of [path, join(path, 'onnx')]) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) continue;
    const files = onnxFilesIn(dir);
    if (files.length === 0) continue;
    if (files.length === 1) return join(dir, files[0] as string);
    const preferred = PREFERRED.find((p) => files.includes(p));
    if (preferred) return join(dir, preferred);
    throw new InvalidArgumentError(`${dir} holds several ONNX graphs (${files.join(', ')}); pass the one to use`);
  }
  throw new FileNotFoundError(join(path, '*.onnx'), `ONNX model in ${basename(path)}`);
}

/** Companion files found beside the model, else one directory up: name → absolute path. */
export function companionFiles(modelPath: string): Map<string, string> {
  const found = new Map<string, string>();
  const dirs = [dirname(modelPath), dirname(dirname(modelPath))];
  for (const name of COMPANION_FILES) {
    for (const dir of dirs) {
      const p = join(dir, name);
      if (existsSync(p) && statSync(p).isFile()) { found.set(name, p); break; }
    }
  }
  return found;
}
