/** Test helpers for the builder: paths, a tiny safetensors writer, and onnxruntime runs. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { readManifest, type HooksManifest } from '../../src/hooks/manifest.js';
import { readModel } from '../../src/onnx/io.js';
import { ModelCodec, type GraphProto } from '../../src/onnx/proto.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const sharedDir = resolve(repoRoot, '../shared');
export const tinyStoriesDir = join(sharedDir, 'models/tinystories-656k');
export const referencePath = join(sharedDir, 'fixtures/reference/tinystories-656k.reference.json');
export const fixtureDir = (arch: string): string => join(sharedDir, `fixtures/onnx/torch-tiny-random-${arch}`);

const made: string[] = [];

/** A fresh temp directory, removed by {@link cleanupTempDirs}. */
export function tempDir(tag = 'build'): string {
  const dir = mkdtempSync(join(tmpdir(), `onnx-steer-${tag}-`));
  made.push(dir);
  return dir;
}

export function cleanupTempDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------
// safetensors writing

export interface StTensor { name: string; dtype: 'F32' | 'F16' | 'BF16' | 'I8' | 'I32'; shape: number[]; data: Uint8Array }

/** Serialises tensors as a safetensors file (header padded to 8 bytes, like the reference writer). */
export function safetensorsBytes(tensors: readonly StTensor[], metadata: Record<string, string> = { format: 'pt' }): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json, 'utf8'), ...tensors.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))]);
}

export function writeSafetensors(path: string, tensors: readonly StTensor[], metadata?: Record<string, string>): void {
  writeFileSync(path, safetensorsBytes(tensors, metadata));
}

export function f32Tensor(name: string, shape: number[], values: Float32Array): StTensor {
  return { name, dtype: 'F32', shape, data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

/** Round-to-nearest-even float32 → IEEE half (normal and subnormal range; no NaN handling needed here). */
export function toHalfBits(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0] as number;
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  let mant = u & 0x7fffff;
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (h & 1))) h++;
    return sign | h;
  }
  let h = (exp << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}

export function f16Tensor(name: string, shape: number[], values: Float32Array): StTensor {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toHalfBits(values[i] as number);
  return { name, dtype: 'F16', shape, data: new Uint8Array(out.buffer) };
}

/** float32 → bfloat16 by truncation (exactly representable when the low 16 bits are zero). */
export function bf16Tensor(name: string, shape: number[], values: Float32Array): StTensor {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = (bits[i] as number) >>> 16;
  return { name, dtype: 'BF16', shape, data: new Uint8Array(out.buffer) };
}

// ---------------------------------------------------------------------------
// running built models

/**
 * A session on a built model plus its manifest. onnxruntime-node only feeds
 * `session.inputNames`, which leaves out inputs that have an initializer, so
 * (like the runtime) the hook defaults are dropped from the graph and every
 * run feeds zeros for the hook inputs it does not set.
 */
export interface TestSession {
  manifest: HooksManifest;
  session: ort.InferenceSession;
  run(feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType>;
  release(): Promise<void>;
}

export async function openSession(dir: string, manifest: HooksManifest = readManifest(dir), options: ort.InferenceSession.SessionOptions = {}): Promise<TestSession> {
  const { model } = readModel(join(dir, manifest.model));
  const hookInputs = new Set(manifest.sites.flatMap((s) => [s.steer, s.ablate]));
  const graph = model.graph as GraphProto;
  graph.initializer = graph.initializer.filter((t) => !hookInputs.has(t.name ?? ''));
  const session = await ort.InferenceSession.create(ModelCodec.encode(model), {
    logSeverityLevel: 3,
    extra: { session: { model_external_initializers_file_folder_path: dir } },
    ...options,
  });
  const H = manifest.hiddenSize;
  const zero = new ort.Tensor('float32', new Float32Array(H), [1, 1, H]);
  const zeros = Object.fromEntries([...hookInputs].map((n) => [n, zero]));
  return {
    manifest,
    session,
    run: (feeds) => session.run({ ...zeros, ...feeds }),
    release: () => session.release(),
  };
}

export const i64 = (values: readonly number[], dims: readonly number[]): ort.Tensor =>
  new ort.Tensor('int64', BigInt64Array.from(values.map((v) => BigInt(v))), dims);

export function emptyPast(m: HooksManifest, batch: number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const layer of m.cache.past ?? []) {
    for (const name of [layer.key, layer.value]) feeds[name] = new ort.Tensor('float32', new Float32Array(0), [batch, m.cache.numKvHeads, 0, m.cache.headDim]);
  }
  return feeds;
}

/** Prefill of one unpadded sequence with an empty cache. */
export async function prefill(session: TestSession, m: HooksManifest, ids: readonly number[], extra: Record<string, ort.Tensor> = {}): Promise<ort.InferenceSession.OnnxValueMapType> {
  const T = ids.length;
  return session.run({
    input_ids: i64(ids, [1, T]),
    attention_mask: i64(ids.map(() => 1), [1, T]),
    position_ids: i64(ids.map((_, i) => i), [1, T]),
    ...emptyPast(m, 1),
    ...extra,
  });
}

export function argmaxRow(data: Float32Array, row: number, width: number): number {
  let best = 0;
  let bestVal = -Infinity;
  for (let v = 0; v < width; v++) {
    const x = data[row * width + v] as number;
    if (x > bestVal) { bestVal = x; best = v; }
  }
  return best;
}

/** Greedy decoding with the KV cache: prefill, then one token per step feeding present → past. */
export async function greedy(session: TestSession, m: HooksManifest, prompt: readonly number[], maxNew: number, eos: number): Promise<number[]> {
  const V = m.vocabSize ?? 0;
  const ids = [...prompt];
  let out = await prefill(session, m, prompt);
  for (let step = 0; step < maxNew; step++) {
    const logits = out.logits as ort.Tensor;
    const seq = logits.dims[1] as number;
    const next = argmaxRow(logits.data as Float32Array, seq - 1, V);
    ids.push(next);
    if (next === eos || step === maxNew - 1) break;
    const total = ids.length;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: i64([next], [1, 1]),
      attention_mask: i64(Array<number>(total).fill(1), [1, total]),
      position_ids: i64([total - 1], [1, 1]),
    };
    (m.cache.past ?? []).forEach((layer, i) => {
      const present = m.cache.present?.[i];
      if (!present) return;
      feeds[layer.key] = out[present.key] as ort.Tensor;
      feeds[layer.value] = out[present.value] as ort.Tensor;
    });
    out = await session.run(feeds);
  }
  return ids;
}

/** max |a − b| and max |b| over the first `b.length` elements. */
export function maxAbsErr(a: ArrayLike<number>, b: ArrayLike<number>): { err: number; scale: number } {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return { err, scale };
}

export function floatData(v: unknown): Float32Array {
  return (v as ort.Tensor).data as Float32Array;
}

/** Reads every tensor of an F32 safetensors file (test-side, independent of the library's reader). */
export function readF32Safetensors(path: string): { name: string; shape: number[]; values: Float32Array }[] {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  return Object.entries(header)
    .filter(([name]) => name !== '__metadata__')
    .map(([name, e]) => {
      if (e.dtype !== 'F32') throw new Error(`${name} is ${e.dtype}`);
      const bytes = buf.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]);
      return { name, shape: e.shape, values: new Float32Array(Uint8Array.from(bytes).buffer) };
    });
}
