/**
 * Fuzz targets: every parser of untrusted input, with a valid seed input and
 * a function that parses a (mutated) byte string. A parser passes when every
 * input either parses or throws a SteeringError, within a second, without an
 * allocation sized by a claimed length (which would surface as RangeError or
 * a hang). Shared by the test suite (1,000 runs per parser) and
 * `npm run fuzz` (10,000).
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseDecoderConfig } from '../../src/builder/config.js';
import { SafetensorsFile } from '../../src/files/safetensors.js';
import { SteeringError } from '../../src/errors.js';
import { readJsonFile } from '../../src/files/fs.js';
import { f32Bytes, GgmlType, meta, parseGguf, writeGguf } from '../../src/gguf/index.js';
import { readManifest } from '../../src/hooks/manifest.js';
import { readModel } from '../../src/onnx/io.js';
import { TextTokenizer } from '../../src/runtime/tokenizer.js';
import { parsePairs } from '../../src/pairs/pairs.js';
import { SteeringVector } from '../../src/vectors/vector.js';
import { requestTargets } from './request-targets.js';

export interface FuzzTarget {
  name: string;
  seed: Uint8Array;
  /** The inputs to try (default: byte mutations of the seed). */
  inputs?: fc.Arbitrary<Uint8Array>;
  parse: (bytes: Uint8Array) => unknown;
}

/** Byte-level mutations of a seed: flips, overwrites, insertions, deletions, truncation, length-field blowups. */
export function mutated(seed: Uint8Array): fc.Arbitrary<Uint8Array> {
  const n = Math.max(1, seed.length);
  const op = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(n - 1), bit: fc.nat(7) }),
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(n - 1), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(n), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(n - 1), len: fc.integer({ min: 1, max: 32 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(n) }),
    fc.record({ kind: fc.constant('huge' as const), at: fc.nat(n - 1) }),
    fc.record({ kind: fc.constant('text' as const), at: fc.nat(n - 1), text: fc.constantFrom('-1', '1e309', 'NaN', '""', 'null', '[]', '{}', '99999999999', '"\\u0000"', '-0', ',', '}') }),
  );
  return fc.array(op, { minLength: 1, maxLength: 4 }).map((ops) => {
    let b = Buffer.from(seed);
    for (const o of ops) {
      const at = Math.min(o.at, b.length);
      if (o.kind === 'flip') { if (at < b.length) b[at] = (b[at] as number) ^ (1 << o.bit); }
      else if (o.kind === 'set') { b = Buffer.concat([b.subarray(0, at), Buffer.from(o.bytes), b.subarray(Math.min(b.length, at + o.bytes.length))]); }
      else if (o.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(o.bytes), b.subarray(at)]);
      else if (o.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + o.len))]);
      else if (o.kind === 'truncate') b = b.subarray(0, at);
      else if (o.kind === 'huge') { const ff = Buffer.alloc(8, 0xff); ff[7] = 0x7f; b = Buffer.concat([b.subarray(0, at), ff, b.subarray(Math.min(b.length, at + 8))]); }
      else b = Buffer.concat([b.subarray(0, at), Buffer.from(o.text), b.subarray(at)]);
    }
    return new Uint8Array(b);
  });
}

/** The targets, with their seeds made or copied into `work`. */
export function fuzzTargets(work: string, repo: string, modelDir: string, checkpoint: string): FuzzTarget[] {
  const file = (name: string, bytes: Uint8Array) => { const p = join(work, name); writeFileSync(p, bytes); return p; };
  // A vector as written today (with its checksum).
  const vectorSeed = Buffer.from(`${JSON.stringify(SteeringVector.load(join(repo, 'vectors', 'tinystories-656k', 'joy.json')).toJSON())}\n`);
  const pairsSeed = readFileSync(join(repo, 'vectors', 'tinystories-656k', 'joy.pairs.jsonl')).subarray(0, 4000);
  // The model graph, parsed beside its real external data.
  const onnxDir = join(work, 'onnx');
  mkdirSync(onnxDir, { recursive: true });
  copyFileSync(join(modelDir, 'model.onnx.data'), join(onnxDir, 'model.onnx.data'));
  const onnxSeed = readFileSync(join(modelDir, 'model.onnx'));
  const manifestDir = join(work, 'manifest');
  mkdirSync(manifestDir, { recursive: true });
  const manifestSeed = readFileSync(join(modelDir, 'hooks.json'));
  // A small safetensors file: header + two tensors.
  const header = Buffer.from(JSON.stringify({ __metadata__: { format: 'pt' }, a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] }, b: { dtype: 'F16', shape: [3], data_offsets: [16, 22] } }));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  const safetensorsSeed = Buffer.concat([len, header, Buffer.alloc(22, 1)]);
  const ggufPath = join(work, 'seed.gguf');
  writeGguf(ggufPath, { 'general.architecture': meta.string('llama'), 'llama.block_count': meta.uint32(2) }, [
    { name: 'direction.1', type: GgmlType.F32, dims: [4], data: f32Bytes(new Float32Array([1, 2, 3, 4])) },
  ], { force: true });
  const ggufSeed = readFileSync(ggufPath);
  const configSeed = readFileSync(join(checkpoint, 'config.json'));
  const tokDir = join(work, 'tokenizer');
  mkdirSync(tokDir, { recursive: true });
  const tokenizerSeed = readFileSync(join(modelDir, 'tokenizer.json'));
  const vectorsDir = join(work, 'vectors');
  mkdirSync(vectorsDir, { recursive: true });
  copyFileSync(join(repo, 'vectors', 'tinystories-656k', 'joy.json'), join(vectorsDir, 'joy.json'));

  return [
    { name: 'vector JSON', seed: vectorSeed, parse: (b) => SteeringVector.load(file('v.json', b)) },
    { name: 'pairs JSONL', seed: pairsSeed, parse: (b) => parsePairs(b, 'pairs.jsonl') },
    { name: 'ONNX protobuf', seed: onnxSeed, parse: (b) => { writeFileSync(join(onnxDir, 'model.onnx'), b); return readModel(join(onnxDir, 'model.onnx')); } },
    { name: 'hooks.json', seed: manifestSeed, parse: (b) => { writeFileSync(join(manifestDir, 'hooks.json'), b); return readManifest(manifestDir); } },
    { name: 'safetensors header', seed: safetensorsSeed, parse: (b) => SafetensorsFile.open(file('t.safetensors', b)) },
    { name: 'GGUF', seed: ggufSeed, parse: (b) => parseGguf(b, 'fuzz.gguf') },
    { name: 'config JSON', seed: configSeed, parse: (b) => parseDecoderConfig(readJsonFile(file('config.json', b)), 'config.json') },
    { name: 'tokenizer JSON', seed: tokenizerSeed, parse: (b) => { writeFileSync(join(tokDir, 'tokenizer.json'), b); return TextTokenizer.load(tokDir); } },
    ...requestTargets(modelDir, vectorsDir, mutated),
  ];
}

export interface FuzzFinding { target: string; kind: 'untyped' | 'slow'; detail: string; input: Uint8Array }

/** Runs `runs` mutations of one target; returns what broke the contract (none expected). */
export function fuzzTarget(t: FuzzTarget, runs: number, seed = 1): { runs: number; typedErrors: number; findings: FuzzFinding[] } {
  const findings: FuzzFinding[] = [];
  let typedErrors = 0;
  let done = 0;
  fc.assert(fc.property(t.inputs ?? mutated(t.seed), (input) => {
    done++;
    const t0 = performance.now();
    try {
      t.parse(input);
    } catch (err) {
      if (err instanceof SteeringError) typedErrors++;
      else if (findings.length < 5) findings.push({ target: t.name, kind: 'untyped', detail: `${(err as Error)?.constructor?.name ?? typeof err}: ${String((err as Error)?.message ?? err).split('\n')[0]}`, input });
    }
    const ms = performance.now() - t0;
    if (ms > 1000 && findings.length < 5) findings.push({ target: t.name, kind: 'slow', detail: `${ms.toFixed(0)} ms`, input });
    return true;
  }), { numRuns: runs, seed });
  return { runs: done, typedErrors, findings };
}
