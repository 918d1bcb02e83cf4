import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gguf, GGUFValueType, serializeGgufMetadata } from '@huggingface/gguf';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { GgufFormatError, InvalidArgumentError, OutputExistsError } from '../../src/errors.js';
import {
  GgmlType, GgufWriter, f32Bytes, ggmlDims, layoutGguf, meta, metadataOf, parseGguf, readGguf, readGgufTensorBytes,
  writeGguf, type GgufTensorInput, type GgufValue,
} from '../../src/gguf/index.js';
import { tempDir } from '../helpers/paths.js';

const tmp = tempDir('onnx-steer-gguf-');
afterAll(() => tmp.cleanup());

/** Q8_0 blocks: f16 scale + 32 int8 quants, 34 bytes per 32 elements. */
function q8Blocks(rows: number, cols: number): Uint8Array {
  const out = new Uint8Array((cols / 32) * 34 * rows);
  for (let i = 0; i < out.length; i++) out[i] = (i * 37 + 11) & 0xff;
  return out;
}

const tokens = ['<unk>', '<s>', '</s>', 'hello', 'wörld', '▁a'];
const scores = new Float32Array([0, -1.5, -2.25, 3.125, 1e-7, -0]);
const weight = Float32Array.from({ length: 12 * 4 }, (_, i) => Math.sin(i) * 1e3);

function sampleTensors(): GgufTensorInput[] {
  return [
    { name: 'token_embd.weight', type: GgmlType.F32, dims: ggmlDims([4, 12]), data: f32Bytes(weight) },
    { name: 'blk.0.ffn_down.weight', type: GgmlType.Q8_0, dims: [64, 3], data: q8Blocks(3, 64) },
    // data in chunks, and an odd size that needs padding before the next tensor
    { name: 'output_norm.weight', type: GgmlType.F32, dims: [5], data: [f32Bytes(new Float32Array([1, 2])), f32Bytes(new Float32Array([3, 4, 5]))] },
    { name: 'blk.0.attn_q.weight', type: GgmlType.F16, dims: [3, 1], data: new Uint8Array([1, 2, 3, 4, 5, 6]) },
  ];
}

const sampleMeta = {
  'general.architecture': meta.string('llama'),
  'general.name': meta.string('tiny ✓'),
  'llama.block_count': meta.uint32(2),
  'llama.rope.dimension_count': meta.int32(-7),
  'llama.attention.layer_norm_rms_epsilon': meta.float32(1e-5),
  'test.u8': meta.uint8(255), 'test.i8': meta.int8(-128), 'test.u16': meta.uint16(65535), 'test.i16': meta.int16(-32768),
  'test.u64': meta.uint64(2n ** 63n + 5n), 'test.i64': meta.int64(-(2n ** 40n)), 'test.f64': meta.float64(Math.PI),
  'test.bool': meta.bool(true),
  'tokenizer.ggml.tokens': meta.array('string', tokens),
  'tokenizer.ggml.scores': meta.array('float32', scores),
  'tokenizer.ggml.token_type': meta.array('int32', [1, 3, 3, 1, 1, 1]),
  'test.nested': meta.array('array', [{ type: 'array', itemType: 'uint8', value: [1, 2] }, { type: 'array', itemType: 'uint8', value: [] }]),
};

describe('GGUF writer, read back by @huggingface/gguf', () => {
  const path = join(tmp.path, 'sample.gguf');
  const layout = writeGguf(path, sampleMeta, sampleTensors());

  it('writes metadata with the declared types', async () => {
    const parsed = await gguf(path, { allowLocalFile: true, typedMetadata: true });
    const m = parsed.typedMetadata;
    expect(m.version.value).toBe(3);
    expect(m.tensor_count.value).toBe(4n);
    expect(m['general.architecture']).toEqual({ value: 'llama', type: GGUFValueType.STRING });
    expect(m['general.name']?.value).toBe('tiny ✓');
    expect(m['llama.block_count']).toEqual({ value: 2, type: GGUFValueType.UINT32 });
    expect(m['llama.rope.dimension_count']).toEqual({ value: -7, type: GGUFValueType.INT32 });
    expect(m['llama.attention.layer_norm_rms_epsilon']?.type).toBe(GGUFValueType.FLOAT32);
    expect(m['llama.attention.layer_norm_rms_epsilon']?.value).toBe(Math.fround(1e-5));
    expect(m['test.u64']).toEqual({ value: 2n ** 63n + 5n, type: GGUFValueType.UINT64 });
    expect(m['test.i64']).toEqual({ value: -(2n ** 40n), type: GGUFValueType.INT64 });
    expect(m['test.f64']).toEqual({ value: Math.PI, type: GGUFValueType.FLOAT64 });
    expect(m['test.bool']).toEqual({ value: true, type: GGUFValueType.BOOL });
    expect(m['test.u8']?.value).toBe(255);
    expect(m['test.i16']?.value).toBe(-32768);
    expect(m['tokenizer.ggml.tokens']).toEqual({ value: tokens, type: GGUFValueType.ARRAY, subType: GGUFValueType.STRING });
    expect(m['tokenizer.ggml.scores']?.value).toEqual(Array.from(scores));
    expect(m['tokenizer.ggml.token_type']?.subType).toBe(GGUFValueType.INT32);
  });

  it('writes tensor infos and 32-byte aligned offsets in declaration order', async () => {
    const parsed = await gguf(path, { allowLocalFile: true });
    expect(parsed.tensorInfos.map((t) => [t.name, t.shape, t.dtype, t.offset])).toEqual([
      ['token_embd.weight', [12n, 4n], 0, 0n],
      ['blk.0.ffn_down.weight', [64n, 3n], 8, 192n],
      ['output_norm.weight', [5n], 0, 416n], // 192 + 204 bytes → 416
      ['blk.0.attn_q.weight', [3n, 1n], 1, 448n],
    ]);
    expect(Number(parsed.tensorDataOffset) % 32).toBe(0);
    expect(Number(parsed.tensorDataOffset)).toBe(layout.header.byteLength);
    expect(readFileSync(path).byteLength).toBe(layout.fileSize);
  });

  it('tensor bytes land at their offsets and round-trip through the reader bit for bit', () => {
    const file = readGguf(path);
    const bytes = readFileSync(path);
    for (const t of sampleTensors()) {
      const expected = t.data instanceof Uint8Array ? t.data : Buffer.concat([...t.data]);
      expect(Buffer.from(readGgufTensorBytes(file, t.name)).equals(Buffer.from(expected))).toBe(true);
      expect(Buffer.from(readGgufTensorBytes(file, t.name, bytes)).equals(Buffer.from(expected))).toBe(true);
    }
    expect(file.alignment).toBe(32);
    expect(metadataOf(file, 'llama.block_count', 'uint32')).toBe(2);
    expect(metadataOf(file, 'llama.block_count', 'int32')).toBeUndefined();
    expect(Array.from(metadataOf(file, 'tokenizer.ggml.scores', 'array') as Float32Array)).toEqual(Array.from(scores));
    const nested = file.metadata.get('test.nested');
    expect(nested?.type === 'array' && nested.itemType).toBe('array');
    expect((nested?.value as unknown as { value: Uint8Array }[]).map((a) => Array.from(a.value))).toEqual([[1, 2], []]);
    // re-encoding what was read gives the same header bytes
    const again = layoutGguf(file.metadata, file.tensors);
    expect(Buffer.from(again.header).equals(bytes.subarray(0, file.dataOffset))).toBe(true);
  });

  it('honours general.alignment', async () => {
    const p = join(tmp.path, 'aligned.gguf');
    writeGguf(p, { 'general.alignment': meta.uint32(64) }, [
      { name: 'a', type: GgmlType.F32, dims: [3], data: f32Bytes(new Float32Array(3)) },
      { name: 'b', type: GgmlType.F32, dims: [1], data: f32Bytes(new Float32Array(1)) },
    ]);
    const parsed = await gguf(p, { allowLocalFile: true });
    expect(parsed.tensorInfos.map((t) => t.offset)).toEqual([0n, 64n]);
    expect(Number(parsed.tensorDataOffset) % 64).toBe(0);
    expect(readGguf(p).alignment).toBe(64);
  });
});

describe('GGUF reader on files from an independent writer', () => {
  it('parses a header serialized by @huggingface/gguf', () => {
    const bytes = serializeGgufMetadata({
      version: { value: 3, type: GGUFValueType.UINT32 },
      tensor_count: { value: 0n, type: GGUFValueType.UINT64 },
      kv_count: { value: 3n, type: GGUFValueType.UINT64 },
      'general.architecture': { value: 'controlvector', type: GGUFValueType.STRING },
      'controlvector.layer_count': { value: 5, type: GGUFValueType.INT32 },
      'x.list': { value: [1.5, 2.5], type: GGUFValueType.ARRAY, subType: GGUFValueType.FLOAT32 },
    } as unknown as Parameters<typeof serializeGgufMetadata>[0]);
    const file = parseGguf(bytes);
    expect(file.metadata.get('controlvector.layer_count')).toEqual({ type: 'int32', value: 5 });
    expect(metadataOf(file, 'general.architecture', 'string')).toBe('controlvector');
    expect(Array.from(metadataOf(file, 'x.list', 'array') as Float32Array)).toEqual([1.5, 2.5]);
  });

  it('refuses version 2 written by @huggingface/gguf', () => {
    const bytes = serializeGgufMetadata({
      version: { value: 2, type: GGUFValueType.UINT32 },
      tensor_count: { value: 0n, type: GGUFValueType.UINT64 },
      kv_count: { value: 0n, type: GGUFValueType.UINT64 },
    } as unknown as Parameters<typeof serializeGgufMetadata>[0]);
    expect(reasonOf(() => parseGguf(bytes))).toBe('UNSUPPORTED_VERSION');
  });
});

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof GgufFormatError) return err.reason;
    throw err;
  }
  return 'ok';
}

describe('GGUF reader strictness', () => {
  const good = (() => {
    const p = join(tmp.path, 'strict.gguf');
    writeGguf(p, sampleMeta, sampleTensors());
    return new Uint8Array(readFileSync(p));
  })();
  const file = parseGguf(good);
  const infoStart = (() => {
    // locate the first tensor info: its name follows the metadata
    const name = Buffer.from('token_embd.weight');
    return Buffer.from(good).indexOf(name) - 8;
  })();

  it('gives a typed reason for each malformation', () => {
    const patched = (f: (b: Buffer) => void): Uint8Array => { const b = Buffer.from(good); f(b); return b; };
    expect(reasonOf(() => parseGguf(patched((b) => b.write('GGUG', 0, 'latin1'))))).toBe('BAD_MAGIC');
    expect(reasonOf(() => parseGguf(patched((b) => b.writeUInt32LE(2, 4))))).toBe('UNSUPPORTED_VERSION');
    expect(reasonOf(() => parseGguf(patched((b) => b.writeUInt32BE(3, 4))))).toBe('UNSUPPORTED_VERSION');
    expect(reasonOf(() => parseGguf(good.subarray(0, good.length - 100)))).toBe('TRUNCATED');
    // the first key's value type → 99
    const firstKeyLen = Number(Buffer.from(good).readBigUInt64LE(24));
    expect(reasonOf(() => parseGguf(patched((b) => b.writeUInt32LE(99, 32 + firstKeyLen))))).toBe('BAD_VALUE_TYPE');
    // a claimed 2^62-byte key is refused before any allocation
    expect(reasonOf(() => parseGguf(patched((b) => b.writeBigUInt64LE(2n ** 62n, 24))))).toBe('TOO_LARGE');
    expect(reasonOf(() => parseGguf(patched((b) => b.writeBigUInt64LE(10n ** 6n, 24))))).toBe('TRUNCATED');
    expect(reasonOf(() => parseGguf(patched((b) => b.writeBigUInt64LE(2n ** 40n, 8))))).toBe('TRUNCATED');
    expect(reasonOf(() => parseGguf(patched((b) => { b[infoStart + 8] = 0xff; })))).toBe('BAD_STRING');
    // tensor 0: name(8+17) n_dims(4) dims(16) type(4) offset(8)
    const typeAt = infoStart + 8 + 17 + 4 + 16;
    expect(reasonOf(() => parseGguf(patched((b) => b.writeUInt32LE(1234, typeAt))))).toBe('BAD_TENSOR_INFO');
    expect(reasonOf(() => parseGguf(patched((b) => b.writeUInt32LE(5, infoStart + 8 + 17))))).toBe('BAD_TENSOR_INFO');
    expect(reasonOf(() => parseGguf(patched((b) => b.writeBigUInt64LE(32n, typeAt + 4))))).toBe('BAD_OFFSET');
    expect(file.tensors[1]?.offset).toBe(192);
  });

  it('refuses duplicate keys and tensor names written by hand', () => {
    const enc = (s: string): Buffer => { const b = Buffer.from(s); const n = Buffer.alloc(8); n.writeBigUInt64LE(BigInt(b.length)); return Buffer.concat([n, b]); };
    const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
    const u64 = (v: number): Buffer => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; };
    const head = (nt: number, nkv: number): Buffer => Buffer.concat([Buffer.from('GGUF'), u32(3), u64(nt), u64(nkv)]);
    const kv = Buffer.concat([enc('a.b'), u32(4), u32(1)]);
    expect(reasonOf(() => parseGguf(Buffer.concat([head(0, 2), kv, kv])))).toBe('DUPLICATE_KEY');
    const info = (off: number): Buffer => Buffer.concat([enc('t'), u32(1), u64(1), u32(0), u64(off)]);
    const twice = Buffer.concat([head(2, 0), info(0), info(32)]);
    expect(reasonOf(() => parseGguf(Buffer.concat([twice, Buffer.alloc(64 + 32 - (twice.length % 32))])))).toBe('DUPLICATE_TENSOR');
    const bad = Buffer.concat([head(0, 1), enc('general.alignment'), u32(4), u32(48)]);
    expect(reasonOf(() => parseGguf(bad))).toBe('BAD_ALIGNMENT');
    const wrongType = Buffer.concat([head(0, 1), enc('general.alignment'), u32(5), u32(32)]);
    expect(reasonOf(() => parseGguf(wrongType))).toBe('BAD_ALIGNMENT');
  });

  it('never fails with anything but a GgufFormatError on truncated or corrupted bytes', () => {
    fc.assert(fc.property(fc.nat({ max: good.length - 1 }), (n) => reasonOf(() => parseGguf(good.subarray(0, n))) !== 'ok'), { numRuns: 300 });
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.nat({ max: 600 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      (edits) => {
        const b = Buffer.from(good);
        for (const [at, v] of edits) b[Math.min(at, b.length - 1)] = v;
        reasonOf(() => parseGguf(b));
      },
    ), { numRuns: 400 });
  });

  it('reads a missing file as FileNotFoundError', () => {
    expect(() => readGguf(join(tmp.path, 'missing.gguf'))).toThrow(/not found/);
  });
});

describe('GGUF writer guards', () => {
  const leftovers = (): string[] => readdirSync(tmp.path).filter((f) => f.endsWith('.tmp'));

  it('refuses a wrong byte count and leaves no file behind', () => {
    const p = join(tmp.path, 'short.gguf');
    expect(() => writeGguf(p, {}, [{ name: 'x', type: GgmlType.F32, dims: [4], data: new Uint8Array(12) }])).toThrow(InvalidArgumentError);
    expect(() => writeGguf(p, {}, [{ name: 'x', type: GgmlType.F32, dims: [4], data: new Uint8Array(20) }])).toThrow(/more than its 16 bytes/);
    expect(existsSync(p)).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  it('enforces declaration order, completeness and shapes', () => {
    const p = join(tmp.path, 'order.gguf');
    const specs = [{ name: 'a', type: GgmlType.F32, dims: [1] }, { name: 'b', type: GgmlType.F32, dims: [1] }];
    const w = GgufWriter.create(p, { metadata: {}, tensors: specs });
    expect(() => w.writeTensor('b', new Uint8Array(4))).toThrow(/declaration order/);
    expect(existsSync(p)).toBe(false);
    const w2 = GgufWriter.create(p, { metadata: {}, tensors: specs });
    w2.writeTensor('a', new Uint8Array(4));
    expect(() => w2.finish()).toThrow(/before tensor "b"/);
    expect(existsSync(p)).toBe(false);
    expect(() => layoutGguf({}, [{ name: 'q', type: GgmlType.Q8_0, dims: [33, 2] }])).toThrow(/multiple of its block size 32/);
    expect(() => layoutGguf({}, [specs[0]!, specs[0]!])).toThrow(/duplicate tensor name/);
    const dupes: Iterable<readonly [string, GgufValue]> = [['k', meta.uint32(1)], ['k', meta.uint32(2)]];
    expect(() => layoutGguf(dupes, [])).toThrow(/duplicate metadata key/);
    expect(() => layoutGguf({ k: meta.uint32(-1) }, [])).toThrow(/not a uint32/);
    expect(() => layoutGguf({ k: meta.int32(2 ** 31) }, [])).toThrow(/not a int32/);
    expect(() => layoutGguf({ 'general.alignment': meta.uint32(24) }, [])).toThrow(/power of two/);
    expect(() => layoutGguf({}, [{ name: 'n'.repeat(64), type: 0, dims: [1] }])).toThrow(/1 to 63 bytes/);
    expect(() => layoutGguf({}, [{ name: 'u', type: 77, dims: [8] }])).toThrow(/byteLength must be given/);
    expect(layoutGguf({}, [{ name: 'u', type: 77, dims: [8], byteLength: 5 }]).tensors[0]?.byteLength).toBe(5);
    expect(leftovers()).toEqual([]);
  });

  it('never overwrites without force, and replaces atomically with it', () => {
    const p = join(tmp.path, 'exists.gguf');
    writeFileSync(p, 'old');
    expect(() => writeGguf(p, {}, [])).toThrow(OutputExistsError);
    const w = GgufWriter.create(p, { metadata: {}, tensors: [{ name: 'a', type: 0, dims: [1] }], force: true });
    expect(readFileSync(p, 'utf8')).toBe('old');
    w.writeTensor('a', new Uint8Array(4));
    w.finish();
    expect(readGguf(p).tensors).toHaveLength(1);
  });
});
