/**
 * A strict GGUF v3 reader. Every length read from the header (strings, arrays,
 * counts, tensor sizes) is checked against the bytes that remain in the file
 * before anything is allocated for it, and every rule llama.cpp's loader
 * enforces (unique keys and names, known tensor types, block-size multiples,
 * offsets equal to the running padded sum, power-of-two alignment) gives a
 * GgufFormatError with a `reason`. The header is read through a bounded
 * window; tensor bytes are read on demand.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { FileNotFoundError, GgufFormatError, type GgufErrorReason } from '../errors.js';
import {
  GGML_TYPES, GGUF_DEFAULT_ALIGNMENT, GGUF_MAX_DIMS, GGUF_MAX_TENSOR_NAME_BYTES, SCALAR_BYTES, VALUE_TYPE_NAME,
  alignUp, type GgufArray, type GgufScalarType, type GgufType, type GgufValue,
} from './types.js';

export interface GgufTensorInfo {
  readonly name: string;
  /** ggml order: dims[0] is the contiguous axis. */
  readonly dims: readonly number[];
  readonly type: number;
  readonly typeName: string;
  /** Offset from the start of the data section. */
  readonly offset: number;
  readonly byteLength: number;
  readonly elementCount: number;
}

export interface GgufFile {
  /** The file read, or a label for an in-memory buffer. */
  readonly path: string;
  readonly version: number;
  readonly alignment: number;
  readonly metadata: ReadonlyMap<string, GgufValue>;
  readonly tensors: readonly GgufTensorInfo[];
  /** Absolute offset of the data section. */
  readonly dataOffset: number;
  readonly fileSize: number;
}

const MAX_ARRAY_DEPTH = 8;
const WINDOW = 1 << 20;
const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const utf8Lenient = new TextDecoder('utf-8');

/** Random access to the bytes of a file or a buffer. */
interface ByteSource {
  readonly size: number;
  /** Reads exactly `length` bytes at `position`; the caller has checked bounds. */
  read(position: number, length: number): Uint8Array;
}

class BufferSource implements ByteSource {
  constructor(private readonly bytes: Uint8Array) {}
  get size(): number { return this.bytes.byteLength; }
  read(position: number, length: number): Uint8Array { return this.bytes.subarray(position, position + length); }
}

class FileSource implements ByteSource {
  readonly size: number;
  constructor(private readonly fd: number) { this.size = fstatSync(fd).size; }
  read(position: number, length: number): Uint8Array {
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, out, done, length - done, position + done);
      if (n <= 0) break;
      done += n;
    }
    return done === length ? out : out.subarray(0, done);
  }
}

/** A forward cursor over a source through a bounded window. */
class Cursor {
  pos = 0;
  private window: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.window.buffer);
  private windowStart = 0;

  constructor(private readonly src: ByteSource, private readonly path: string) {}

  fail(reason: GgufErrorReason, detail: string): never {
    throw new GgufFormatError(this.path, reason, detail);
  }

  get remaining(): number { return this.src.size - this.pos; }

  /** Makes [pos, pos + n) readable, or fails as truncated. Returns the window offset. */
  private need(n: number, what: string): number {
    if (n > this.remaining) this.fail('TRUNCATED', `truncated header: ${what} needs ${n} bytes at offset ${this.pos}, file has ${this.src.size}`);
    const rel = this.pos - this.windowStart;
    if (rel >= 0 && rel + n <= this.window.byteLength) return rel;
    const len = Math.min(Math.max(n, WINDOW), this.src.size - this.pos);
    const bytes = this.src.read(this.pos, len);
    if (bytes.byteLength < n) this.fail('TRUNCATED', `truncated header: could not read ${what} at offset ${this.pos}`);
    this.window = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.windowStart = this.pos;
    return 0;
  }

  bytes(n: number, what: string): Uint8Array {
    const at = this.need(n, what);
    this.pos += n;
    return this.window.subarray(at, at + n);
  }

  u8(what: string): number { const at = this.need(1, what); this.pos += 1; return this.view.getUint8(at); }
  i8(what: string): number { const at = this.need(1, what); this.pos += 1; return this.view.getInt8(at); }
  u16(what: string): number { const at = this.need(2, what); this.pos += 2; return this.view.getUint16(at, true); }
  i16(what: string): number { const at = this.need(2, what); this.pos += 2; return this.view.getInt16(at, true); }
  u32(what: string): number { const at = this.need(4, what); this.pos += 4; return this.view.getUint32(at, true); }
  i32(what: string): number { const at = this.need(4, what); this.pos += 4; return this.view.getInt32(at, true); }
  f32(what: string): number { const at = this.need(4, what); this.pos += 4; return this.view.getFloat32(at, true); }
  f64(what: string): number { const at = this.need(8, what); this.pos += 8; return this.view.getFloat64(at, true); }
  u64(what: string): bigint { const at = this.need(8, what); this.pos += 8; return this.view.getBigUint64(at, true); }
  i64(what: string): bigint { const at = this.need(8, what); this.pos += 8; return this.view.getBigInt64(at, true); }

  /** A uint64 count that must fit in the remaining bytes at `minBytesEach` per item. */
  count(what: string, minBytesEach: number): number {
    const at = this.pos;
    const raw = this.u64(what);
    const limit = BigInt(Math.floor(this.remaining / Math.max(1, minBytesEach)));
    if (raw > limit) {
      this.pos = at;
      this.fail(raw > BigInt(Number.MAX_SAFE_INTEGER) ? 'TOO_LARGE' : 'TRUNCATED',
        `${what} ${raw} at offset ${at} cannot fit in the ${this.remaining - 8} bytes that follow`);
    }
    return Number(raw);
  }

  string(what: string, strict: boolean): string {
    const n = this.count(`${what} length`, 1);
    const raw = this.bytes(n, what);
    if (!strict) return utf8Lenient.decode(raw);
    try {
      return utf8Strict.decode(raw);
    } catch {
      return this.fail('BAD_STRING', `${what} at offset ${this.pos - n} is not valid UTF-8`);
    }
  }
}

function readValue(c: Cursor, typeId: number, what: string, depth: number): GgufValue {
  const type = VALUE_TYPE_NAME[typeId];
  if (type === undefined) c.fail('BAD_VALUE_TYPE', `${what}: unknown value type ${typeId}`);
  switch (type) {
    case 'uint8': return { type, value: c.u8(what) };
    case 'int8': return { type, value: c.i8(what) };
    case 'uint16': return { type, value: c.u16(what) };
    case 'int16': return { type, value: c.i16(what) };
    case 'uint32': return { type, value: c.u32(what) };
    case 'int32': return { type, value: c.i32(what) };
    case 'float32': return { type, value: c.f32(what) };
    case 'float64': return { type, value: c.f64(what) };
    case 'uint64': return { type, value: c.u64(what) };
    case 'int64': return { type, value: c.i64(what) };
    case 'bool': {
      const b = c.u8(what);
      if (b > 1) c.fail('BAD_VALUE_TYPE', `${what}: bool byte ${b} is neither 0 nor 1`);
      return { type, value: b === 1 };
    }
    case 'string': return { type, value: c.string(what, false) };
    case 'array': return readArray(c, what, depth);
  }
}

function readArray(c: Cursor, what: string, depth: number): GgufArray {
  if (depth >= MAX_ARRAY_DEPTH) c.fail('BAD_VALUE_TYPE', `${what}: arrays nested deeper than ${MAX_ARRAY_DEPTH}`);
  const itemId = c.u32(`${what} item type`);
  const itemType = VALUE_TYPE_NAME[itemId];
  if (itemType === undefined) c.fail('BAD_VALUE_TYPE', `${what}: unknown array item type ${itemId}`);
  const fixed = SCALAR_BYTES[itemType];
  // Strings take at least their 8-byte length; nested arrays at least type + count.
  const n = c.count(`${what} array length`, fixed ?? (itemType === 'string' ? 8 : 12));
  if (fixed !== undefined && itemType !== 'bool' && itemType !== 'array') return { type: 'array', itemType, value: readFixedArray(c, itemType, n, fixed, what) };
  const out: (boolean | string | bigint | GgufArray)[] = [];
  for (let i = 0; i < n; i++) {
    const v = readValue(c, itemId, `${what}[${i}]`, depth + 1);
    out.push(v.value as boolean | string | bigint | GgufArray);
    if (v.type === 'array') out[i] = v;
  }
  return { type: 'array', itemType, value: out };
}

function readFixedArray(c: Cursor, itemType: GgufScalarType, n: number, size: number, what: string): GgufArray['value'] {
  const raw = c.bytes(n * size, what);
  const buf = new Uint8Array(raw).buffer; // a copy, aligned for the typed views
  switch (itemType) {
    case 'uint8': return new Uint8Array(buf, 0, n);
    case 'int8': return new Int8Array(buf, 0, n);
    case 'uint16': return new Uint16Array(buf, 0, n);
    case 'int16': return new Int16Array(buf, 0, n);
    case 'uint32': return new Uint32Array(buf, 0, n);
    case 'int32': return new Int32Array(buf, 0, n);
    case 'float32': return new Float32Array(buf, 0, n);
    case 'float64': return new Float64Array(buf, 0, n);
    case 'uint64': return Array.from(new BigUint64Array(buf, 0, n));
    case 'int64': return Array.from(new BigInt64Array(buf, 0, n));
    default: return c.fail('BAD_VALUE_TYPE', `${what}: ${itemType} is not a fixed-size type`);
  }
}

function parse(src: ByteSource, path: string): GgufFile {
  const c: Cursor = new Cursor(src, path);
  if (src.size < 4) c.fail('TRUNCATED', `not a GGUF file: ${src.size} bytes`);
  const magic = c.bytes(4, 'magic');
  if (!(magic[0] === 0x47 && magic[1] === 0x47 && magic[2] === 0x55 && magic[3] === 0x46)) {
    c.fail('BAD_MAGIC', `not a GGUF file: magic is ${Buffer.from(magic).toString('hex')}, expected 47475546 ("GGUF")`);
  }
  const version = c.u32('version');
  if (version !== 3) {
    const hint = version === 0x03000000 ? ' (a big-endian GGUF; only little-endian is supported)' : version < 3 ? ' (GGUF v1/v2 are obsolete; re-convert with a current llama.cpp)' : '';
    c.fail('UNSUPPORTED_VERSION', `GGUF version ${version} is not supported, expected 3${hint}`);
  }
  const tensorCount = c.count('tensor count', 24); // name length + n_dims + type + offset
  const kvCount = c.count('metadata count', 13); // key length + type + 1 byte
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = c.string(`metadata key #${i}`, true);
    if (metadata.has(key)) c.fail('DUPLICATE_KEY', `duplicate metadata key "${key}"`);
    const typeId = c.u32(`type of "${key}"`);
    metadata.set(key, readValue(c, typeId, `"${key}"`, 0));
  }
  const alignment = readAlignment(c, metadata);

  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  let expectedOffset = 0;
  for (let i = 0; i < tensorCount; i++) {
    const name = c.string(`tensor name #${i}`, true);
    if (Buffer.byteLength(name) > GGUF_MAX_TENSOR_NAME_BYTES) c.fail('BAD_TENSOR_INFO', `tensor name "${name.slice(0, 40)}…" is longer than ${GGUF_MAX_TENSOR_NAME_BYTES} bytes`);
    if (names.has(name)) c.fail('DUPLICATE_TENSOR', `duplicate tensor name "${name}"`);
    names.add(name);
    const nDims = c.u32(`n_dims of "${name}"`);
    if (nDims > GGUF_MAX_DIMS) c.fail('BAD_TENSOR_INFO', `tensor "${name}" has ${nDims} dims, at most ${GGUF_MAX_DIMS} allowed`);
    const dims: number[] = [];
    let elements = 1;
    for (let d = 0; d < nDims; d++) {
      const dim = c.u64(`dim ${d} of "${name}"`);
      if (dim > BigInt(Number.MAX_SAFE_INTEGER)) c.fail('TOO_LARGE', `tensor "${name}" dim ${d} = ${dim} is too large`);
      dims.push(Number(dim));
      elements *= Number(dim);
      if (elements > Number.MAX_SAFE_INTEGER) c.fail('TOO_LARGE', `tensor "${name}" has too many elements`);
    }
    const type = c.u32(`type of "${name}"`);
    const info = GGML_TYPES.get(type);
    if (info === undefined) c.fail('BAD_TENSOR_INFO', `tensor "${name}" has unknown ggml type ${type}`);
    const first = dims[0] ?? 1;
    if (first % info.blockSize !== 0) c.fail('BAD_TENSOR_INFO', `tensor "${name}": ${info.name} needs dims[0] (${first}) to be a multiple of ${info.blockSize}`);
    const byteLength = (elements / info.blockSize) * info.typeSize;
    const offset = c.u64(`offset of "${name}"`);
    if (offset !== BigInt(expectedOffset)) c.fail('BAD_OFFSET', `tensor "${name}" has offset ${offset}, expected ${expectedOffset} (data must follow tensor-info order, each padded to ${alignment})`);
    tensors.push({ name, dims, type, typeName: info.name, offset: expectedOffset, byteLength, elementCount: elements });
    expectedOffset += alignUp(byteLength, alignment);
    if (expectedOffset > src.size) c.fail('TRUNCATED', `tensor data is truncated: "${name}" ends past the end of the ${src.size}-byte file`);
  }
  // Like llama.cpp, the data section is the padded sum of the tensor sizes, last padding included.
  const dataOffset = alignUp(c.pos, alignment);
  const dataEnd = dataOffset + expectedOffset;
  if (dataEnd > src.size) {
    const last = tensors[tensors.length - 1];
    c.fail('TRUNCATED', `tensor data is truncated: ${last === undefined ? 'the header padding' : `"${last.name}"`} needs bytes up to ${dataEnd}, file has ${src.size}`);
  }
  return { path, version, alignment, metadata, tensors, dataOffset, fileSize: src.size };
}

function readAlignment(c: Cursor, metadata: ReadonlyMap<string, GgufValue>): number {
  const v = metadata.get('general.alignment');
  if (v === undefined) return GGUF_DEFAULT_ALIGNMENT;
  if (v.type !== 'uint32') c.fail('BAD_ALIGNMENT', `general.alignment must be uint32, found ${v.type}`);
  if (v.value === 0 || (v.value & (v.value - 1)) !== 0) c.fail('BAD_ALIGNMENT', `general.alignment ${v.value} is not a power of two`);
  return v.value;
}

/** Reads a GGUF file's header (metadata and tensor infos); tensor bytes stay on disk. */
export function readGguf(path: string): GgufFile {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new FileNotFoundError(path, 'GGUF file', { cause: err });
    throw err;
  }
  try {
    return parse(new FileSource(fd), path);
  } finally {
    closeSync(fd);
  }
}

/** Parses a GGUF held in memory. */
export function parseGguf(bytes: Uint8Array, label = '<buffer>'): GgufFile {
  return parse(new BufferSource(bytes), label);
}

/** Reads one tensor's bytes from the file `file` was read from. */
export function readGgufTensorBytes(file: GgufFile, tensor: GgufTensorInfo | string, bytes?: Uint8Array): Uint8Array {
  const info = typeof tensor === 'string' ? file.tensors.find((t) => t.name === tensor) : tensor;
  if (info === undefined) throw new GgufFormatError(file.path, 'BAD_TENSOR_INFO', `no tensor named "${typeof tensor === "string" ? tensor : tensor.name}"`);
  const start = file.dataOffset + info.offset;
  if (bytes !== undefined) return bytes.subarray(start, start + info.byteLength);
  const fd = openSync(file.path, 'r');
  try {
    const src = new FileSource(fd);
    if (start + info.byteLength > src.size) throw new GgufFormatError(file.path, 'TRUNCATED', `tensor "${info.name}" is truncated (the file changed after it was read?)`);
    return src.read(start, info.byteLength);
  } finally {
    closeSync(fd);
  }
}

interface ValueOfType {
  uint8: number; int8: number; uint16: number; int16: number; uint32: number; int32: number;
  float32: number; float64: number; uint64: bigint; int64: bigint; bool: boolean; string: string;
  array: GgufArray['value'];
}

/** The value of `key` if present and stored as `type`, else undefined. */
export function metadataOf<T extends GgufType>(file: GgufFile, key: string, type: T): ValueOfType[T] | undefined {
  const v = file.metadata.get(key);
  return v !== undefined && v.type === type ? (v.value as ValueOfType[T]) : undefined;
}
