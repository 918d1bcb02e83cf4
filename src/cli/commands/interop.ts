/**
 * `onnx-steer export` (a vector as a llama.cpp control vector) and
 * `onnx-steer import` (a GGUF control vector as an onnx-steer vector).
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { commitInterruptibly, guardOutput, writeFilesInterruptibly } from '../../files/fs.js';
import { readManifest } from '../../hooks/manifest.js';
import { exportControlVector, importControlVector, readControlVector } from '../../interop/control-vector.js';
import { SteeringVector } from '../../vectors/vector.js';
import { stageBake } from '../../interop/bake.js';
import { GGUF_MODEL_TYPES, exportGgufModel, parseGgufModelType, type GgufModelType } from '../../interop/gguf-model.js';
import { parseFloatOption, parseListOptionFor, printJson } from '../common.js';
import { resolveModelDir } from '../model-option.js';
import { progressFor } from '../progress.js';
import { parseOperator, parsePositions, parseVectorArg } from './steering-options.js';

interface ExportCliOptions {
  format?: string; output?: string; scale?: number; operator?: string; positions?: string; modelHint?: string; type?: string; name?: string; force?: boolean; json?: boolean;
}

function isDirectory(path: string): boolean {
  try { return statSync(path).isDirectory(); } catch { return false; }
}

function parseType(value: string): GgufModelType {
  if (!(GGUF_MODEL_TYPES as readonly string[]).includes(value)) throw new UsageError(`--type must be ${GGUF_MODEL_TYPES.join(' or ')}, got "${value}"`);
  return parseGgufModelType(value);
}

/** `export <model-dir>`: a built model as a llama.cpp GGUF model. */
function exportModel(dir: string, output: string, opts: ExportCliOptions): void {
  const vectorOnly = (['scale', 'operator', 'positions', 'modelHint'] as const).filter((k) => opts[k] !== undefined);
  if (vectorOnly.length > 0) throw new UsageError(`--${vectorOnly[0] === 'modelHint' ? 'model-hint' : vectorOnly[0]} applies to vectors, not to a model directory`);
  const report = exportGgufModel(dir, output, {
    type: parseType(opts.type ?? 'f32'),
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    force: opts.force ?? false,
  });
  for (const w of report.warnings) process.stderr.write(`onnx-steer: warning: ${w}\n`);
  if (opts.json) printJson({ format: 'gguf', kind: 'model', ...report });
  else {
    process.stdout.write(`wrote ${output}: llama.cpp GGUF model (${report.architecture}, ${report.type.toUpperCase()}, ${report.tensors} tensors, ${(report.bytes / 2 ** 20).toFixed(1)} MiB` +
      `${report.tiedEmbeddings ? ', tied embeddings' : ''}, ${report.tokenizer} tokenizer)\n  use: llama-cli -m ${opts.output ?? output}  (or node-llama-cpp)\n`);
  }
}
interface ImportCliOptions { model?: string; output?: string; name?: string; force?: boolean; json?: boolean }

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write a vector or a built model for another engine: --format gguf gives a llama.cpp control vector (direction.N = blocks.N.hook_resid_post), or, for a model directory, a llama.cpp GGUF model')
    .argument('<input>', 'vector file (JSON), or a model directory made by onnx-steer build')
    .option('--format <fmt>', 'output format: gguf', 'gguf')
    .option('-o, --output <file>', 'file to write')
    .option('--scale <s>', 'fold this strength into the data (default: unscaled; pass the strength to llama.cpp)', parseFloatOption('--scale'))
    .option('--operator <op>', 'the operator the vector is meant for (only add can be exported)')
    .option('--positions <spec>', 'the positions it is meant for (only all can be exported)')
    .option('--model-hint <type>', 'controlvector.model_hint (default: from the vector\'s architecture, e.g. llama)')
    .option('--type <type>', 'model export: tensor type of the weights, f32 (default) or q8_0')
    .option('--name <name>', 'model export: general.name (default: the directory name)')
    .option('--force', 'overwrite the output')
    .option('--json', 'print one JSON document')
    .action((vectorPath: string, opts: ExportCliOptions) => {
      if (opts.format !== 'gguf') throw new UsageError(`--format must be gguf, got "${opts.format ?? ''}"`);
      if (!opts.output) throw new UsageError('export needs -o <file.gguf>');
      const output = resolve(opts.output);
      guardOutput(output, opts.force ?? false);
      if (isDirectory(resolve(vectorPath))) { exportModel(resolve(vectorPath), output, opts); return; }
      if (opts.type !== undefined || opts.name !== undefined) throw new UsageError(`--${opts.type !== undefined ? 'type' : 'name'} applies to a model directory, not to a vector`);
      const vector = SteeringVector.load(resolve(vectorPath));
      const result = exportControlVector(vector, output, {
        ...(opts.scale !== undefined ? { scale: opts.scale } : {}),
        ...(opts.operator !== undefined ? { operator: parseOperator(opts.operator) } : {}),
        ...(opts.positions !== undefined ? { positions: parsePositions(opts.positions) } : {}),
        ...(opts.modelHint !== undefined ? { modelHint: opts.modelHint } : {}),
        force: opts.force ?? false,
      });
      const info = readControlVector(output);
      if (opts.json) {
        printJson({ output, format: 'gguf', layers: result.layers, scale: result.scale, nEmbd: info.nEmbd, modelHint: info.modelHint, sha256: info.sha256 });
      } else {
        const layers = [...result.layers].sort((a, b) => a - b);
        process.stdout.write(`wrote ${output}: llama.cpp control vector, ${layers.length} direction(s) at layers ${layers.join(', ')}, n_embd ${info.nEmbd}` +
          `${result.scale !== 1 ? `, scaled by ${result.scale}` : ''}\n  use: llama-server -m model.gguf --control-vector-scaled ${opts.output} <strength>\n`);
      }
    });
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('read a GGUF control vector (repeng, llama.cpp cvector-generator, EasySteer, onnx-steer) as a vector for --model')
    .argument('<file>', 'control vector (.gguf)')
    .requiredOption('--model <dir>', 'hooked model directory the directions are for (hidden size and block count are checked)')
    .option('-o, --output <file>', 'vector file to write (JSON)')
    .option('--name <name>', 'name recorded in the vector (default: the file name)')
    .option('--force', 'overwrite the output')
    .option('--json', 'print one JSON document')
    .action(async (file: string, opts: ImportCliOptions) => {
      if (!opts.output) throw new UsageError('import needs -o <vector.json>');
      const output = resolve(opts.output);
      guardOutput(output, opts.force ?? false);
      const manifest = readManifest(resolve(opts.model ?? ''));
      const vector = importControlVector(resolve(file), { model: manifest, ...(opts.name !== undefined ? { name: opts.name } : {}) });
      await writeFilesInterruptibly([[output, vector.fileText()]]);
      if (opts.json) printJson({ output, sites: vector.sites, derivation: vector.meta.derivation });
      else process.stdout.write(`wrote ${output}: ${vector.sites.length} site(s) (${vector.sites.join(', ')}); ${vector.meta.derivation ?? ''}\n`);
    });
}

interface BakeCliOptions { model?: string; vector?: string; operator?: string; sites?: string[]; output?: string; force?: boolean; json?: boolean }

export function registerBake(program: Command): void {
  program
    .command('bake')
    .description('fold a vector into a standalone ONNX model (Optimum / transformers.js layout, no hooks left): add → constant add, ablate → weight orthogonalization')
    .option('--model <dir>', 'hooked model directory (default: the TinyStories-656K model)')
    .requiredOption('--vector <path=strength>', 'vector file and strength, e.g. joy.json=4')
    .option('--operator <op>', 'add (default), ablate (abliteration), or ablate-add', 'add')
    .option('--sites <list>', 'use only these sites of the vector (ablation needs exactly one)', parseListOptionFor('--sites'))
    .option('-o, --output <dir>', 'model directory to write')
    .option('--force', 'overwrite the output')
    .option('--json', 'print one JSON document')
    .action(async (opts: BakeCliOptions) => {
      if (!opts.output) throw new UsageError('bake needs -o <dir>');
      const operator = parseOperator(opts.operator ?? 'add');
      const { path, strength } = parseVectorArg(opts.vector ?? '');
      if (strength === undefined && operator !== 'ablate') throw new UsageError('--vector needs a strength for add and ablate-add, e.g. v.json=4');
      let vector = SteeringVector.load(resolve(path));
      if (opts.sites) vector = vector.restrictToSites(opts.sites);
      const progress = progressFor('bake');
      const modelDir = await resolveModelDir(opts.model !== undefined ? { model: opts.model } : {}, progress);
      const staged = stageBake(resolve(modelDir), resolve(opts.output), { vector, strength: strength ?? 0, operator, force: opts.force ?? false, onProgress: (m) => progress.message(m) });
      await commitInterruptibly(staged);
      const report = staged.report;
      if (opts.json) printJson(report);
      else {
        process.stdout.write(`wrote ${report.output}: ${operator}` +
          `${report.added.length ? `, +${strength ?? 0}·v at ${report.added.join(', ')}` : ''}` +
          `${report.orthogonalized.length ? `, ${report.orthogonalized.length} residual writers orthogonalized` : ''}` +
          `; removed ${report.removedInputs} hook inputs and ${report.removedOutputs} capture outputs\n`);
      }
    });
}
