/**
 * A streaming GGUF v3 writer. The caller declares the metadata and every
 * tensor (name, ggml type id, ggml dims) up front, so offsets are known and
 * the header is written first; tensor bytes then follow one tensor at a time,
 * in declaration order, each as one buffer or as an iterable of chunks. The
 * file is written to a temp path and renamed into place by `finish()`; any
 * error (including a wrong byte count) removes the temp file, so a partial
 * GGUF never appears at the target.
 *
 * The writer does not encode tensors: for F32 pass the little-endian float
 * bytes, for Q8_0 (or any ggml type) the already-quantized blocks. Known
 * types have their byte length checked from dims; unknown type ids need an
 * explicit `byteLength`.
 */
import { InvalidArgumentError } from '../errors.js';
import { AtomicFile, guardOutput } from '../files/fs.js';
import {
  GGUF_DEFAULT_ALIGNMENT, GGUF_MAX_DIMS, GGUF_MAX_TENSOR_NAME_BYTES, GGUF_VERSION, VALUE_TYPE_ID,
  alignUp, ggmlTensorBytes, type GgufArray, type GgufScalarType, type GgufValue,
} from './types.js';

export interface GgufTensorSpec {
  readonly name: string;
  /** ggml type id (GgmlType.F32, GgmlType.Q8_0, …). */
  readonly type: number;
  /** ggml order: dims[0] is the contiguous axis (a row-major [out, in] weight is [in, out]). */
  readonly dims: readonly number[];
  /** Required for type ids missing from GGML_TYPES; checked against dims otherwise. */
  readonly byteLength?: number;
}

export interface PlannedTensor extends GgufTensorSpec {
  readonly byteLength: number;
  /** Offset from the start of the data section. */
  readonly offset: number;
}

export type GgufMetadataInput = ReadonlyMap<string, GgufValue> | Readonly<Record<string, GgufValue>> | Iterable<readonly [string, GgufValue]>;

export interface GgufLayout {
  readonly header: Uint8Array;
  readonly alignment: number;
  readonly tensors: readonly PlannedTensor[];
  /** Header plus data, padded: the size of the finished file. */
  readonly fileSize: number;
}

/** A growable little-endian byte buffer. */
class Bytes {
  private buf = Buffer.alloc(1 << 12);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  u8(v: number): void { this.room(1); this.buf.writeUInt8(v, this.length); this.length += 1; }
  i8(v: number): void { this.room(1); this.buf.writeInt8(v, this.length); this.length += 1; }
  u16(v: number): void { this.room(2); this.buf.writeUInt16LE(v, this.length); this.length += 2; }
  i16(v: number): void { this.room(2); this.buf.writeInt16LE(v, this.length); this.length += 2; }
  u32(v: number): void { this.room(4); this.buf.writeUInt32LE(v, this.length); this.length += 4; }
  i32(v: number): void { this.room(4); this.buf.writeInt32LE(v, this.length); this.length += 4; }
  f32(v: number): void { this.room(4); this.buf.writeFloatLE(v, this.length); this.length += 4; }
  f64(v: number): void { this.room(8); this.buf.writeDoubleLE(v, this.length); this.length += 8; }
  u64(v: bigint): void { this.room(8); this.buf.writeBigUInt64LE(v, this.length); this.length += 8; }
  i64(v: bigint): void { this.room(8); this.buf.writeBigInt64LE(v, this.length); this.length += 8; }
  raw(b: Uint8Array): void { this.room(b.byteLength); this.buf.set(b, this.length); this.length += b.byteLength; }
  str(s: string): void { const b = Buffer.from(s, 'utf8'); this.u64(BigInt(b.byteLength)); this.raw(b); }
  pad(alignment: number): void { const n = alignUp(this.length, alignment) - this.length; this.room(n); this.length += n; }
  done(): Uint8Array { return this.buf.subarray(0, this.length); }
}

const INT_RANGE: Readonly<Record<string, readonly [number, number]>> = {
  uint8: [0, 0xff], int8: [-0x80, 0x7f], uint16: [0, 0xffff], int16: [-0x8000, 0x7fff],
  uint32: [0, 0xffffffff], int32: [-0x80000000, 0x7fffffff],
};
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

function bad(message: string): never {
  throw new InvalidArgumentError(`GGUF writer: ${message}`);
}

function writeScalar(out: Bytes, type: GgufScalarType, v: unknown, what: string): void {
  switch (type) {
    case 'uint8': case 'int8': case 'uint16': case 'int16': case 'uint32': case 'int32': {
      const range = INT_RANGE[type];
      if (typeof v !== 'number' || !Number.isInteger(v) || range === undefined || v < range[0] || v > range[1]) bad(`${what}: ${String(v)} is not a ${type}`);
      if (type === 'uint8') out.u8(v); else if (type === 'int8') out.i8(v);
      else if (type === 'uint16') out.u16(v); else if (type === 'int16') out.i16(v);
      else if (type === 'uint32') out.u32(v); else out.i32(v);
      return;
    }
    case 'float32': case 'float64':
      if (typeof v !== 'number') bad(`${what}: ${String(v)} is not a number`);
      if (type === 'float32') out.f32(v); else out.f64(v);
      return;
    case 'uint64': case 'int64': {
      const b = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : undefined;
      if (b === undefined || (type === 'uint64' ? b < 0n || b > U64_MAX : b < I64_MIN || b > I64_MAX)) bad(`${what}: ${String(v)} is not a ${type}`);
      if (type === 'uint64') out.u64(b); else out.i64(b);
      return;
    }
    case 'bool':
      if (typeof v !== 'boolean') bad(`${what}: ${String(v)} is not a bool`);
      out.u8(v ? 1 : 0);
      return;
    case 'string':
      if (typeof v !== 'string') bad(`${what}: ${String(v)} is not a string`);
      out.str(v);
      return;
  }
}

function writeArray(out: Bytes, arr: GgufArray, what: string, depth: number): void {
  if (depth > 8) bad(`${what}: arrays nested too deeply`);
  const itemId = VALUE_TYPE_ID[arr.itemType];
  if (itemId === undefined) bad(`${what}: unknown array item type ${String(arr.itemType)}`);
  out.u32(itemId);
  const n = arr.value.length;
  out.u64(BigInt(n));
  if (arr.itemType === 'float32' && arr.value instanceof Float32Array) {
    out.raw(new Uint8Array(arr.value.buffer, arr.value.byteOffset, arr.value.byteLength));
    return;
  }
  for (let i = 0; i < n; i++) {
    const item = (arr.value as ArrayLike<unknown>)[i];
    if (arr.itemType === 'array') {
      if (typeof item !== 'object' || item === null || (item as GgufArray).type !== 'array') bad(`${what}[${i}] is not an array value`);
      writeArray(out, item as GgufArray, `${what}[${i}]`, depth + 1);
    } else {
      writeScalar(out, arr.itemType, item, `${what}[${i}]`);
    }
  }
}

function writeValue(out: Bytes, v: GgufValue, what: string): void {
  const id = VALUE_TYPE_ID[v.type];
  if (id === undefined) bad(`${what}: unknown value type ${String((v as { type: unknown }).type)}`);
  out.u32(id);
  if (v.type === 'array') writeArray(out, v, what, 0);
  else writeScalar(out, v.type, v.value, what);
}

function metadataEntries(input: GgufMetadataInput): [string, GgufValue][] {
  const entries: [string, GgufValue][] = input instanceof Map
    ? [...(input as ReadonlyMap<string, GgufValue>).entries()]
    : Symbol.iterator in Object(input)
      ? [...(input as Iterable<readonly [string, GgufValue]>)].map(([k, v]) => [k, v])
      : Object.entries(input as Readonly<Record<string, GgufValue>>);
  const seen = new Set<string>();
  for (const [key] of entries) {
    if (key.length === 0) bad('empty metadata key');
    if (seen.has(key)) bad(`duplicate metadata key "${key}"`);
    seen.add(key);
  }
  return entries;
}

function alignmentOf(entries: readonly [string, GgufValue][]): number {
  const v = entries.find(([k]) => k === 'general.alignment')?.[1];
  if (v === undefined) return GGUF_DEFAULT_ALIGNMENT;
  if (v.type !== 'uint32' || v.value === 0 || (v.value & (v.value - 1)) !== 0) bad('general.alignment must be a uint32 power of two');
  return v.value;
}

/** Plans a GGUF: validates everything and encodes the header (with offsets); no I/O. */
export function layoutGguf(metadata: GgufMetadataInput, tensors: readonly GgufTensorSpec[]): GgufLayout {
  const entries = metadataEntries(metadata);
  const alignment = alignmentOf(entries);
  const planned: PlannedTensor[] = [];
  const names = new Set<string>();
  let offset = 0;
  for (const t of tensors) {
    if (t.name.length === 0 || Buffer.byteLength(t.name) > GGUF_MAX_TENSOR_NAME_BYTES) bad(`tensor name "${t.name}" must be 1 to ${GGUF_MAX_TENSOR_NAME_BYTES} bytes`);
    if (names.has(t.name)) bad(`duplicate tensor name "${t.name}"`);
    names.add(t.name);
    if (t.dims.length > GGUF_MAX_DIMS) bad(`tensor "${t.name}" has ${t.dims.length} dims, at most ${GGUF_MAX_DIMS}`);
    if (!t.dims.every((d) => Number.isSafeInteger(d) && d >= 0)) bad(`tensor "${t.name}" has invalid dims [${t.dims.join(', ')}]`);
    if (!Number.isInteger(t.type) || t.type < 0 || t.type > 0xffffffff) bad(`tensor "${t.name}" has invalid type id ${t.type}`);
    const known = ggmlTensorBytes(t.type, t.dims);
    if (typeof known === 'string') bad(`tensor "${t.name}": ${known}`);
    if (known === null && t.byteLength === undefined) bad(`tensor "${t.name}": ggml type ${t.type} is unknown here, so byteLength must be given`);
    if (known !== null && t.byteLength !== undefined && known !== t.byteLength) bad(`tensor "${t.name}": byteLength ${t.byteLength} but its type and dims take ${known} bytes`);
    const byteLength = known ?? t.byteLength ?? 0;
    if (!Number.isSafeInteger(byteLength) || byteLength < 0) bad(`tensor "${t.name}": invalid byteLength ${byteLength}`);
    planned.push({ name: t.name, type: t.type, dims: [...t.dims], byteLength, offset });
    offset += alignUp(byteLength, alignment);
  }
  const out = new Bytes();
  out.raw(Buffer.from('GGUF', 'latin1'));
  out.u32(GGUF_VERSION);
  out.u64(BigInt(planned.length));
  out.u64(BigInt(entries.length));
  for (const [key, value] of entries) {
    out.str(key);
    writeValue(out, value, `metadata "${key}"`);
  }
  for (const t of planned) {
    out.str(t.name);
    out.u32(t.dims.length);
    for (const d of t.dims) out.u64(BigInt(d));
    out.u32(t.type);
    out.u64(BigInt(t.offset));
  }
  out.pad(alignment);
  const header = out.done();
  return { header, alignment, tensors: planned, fileSize: header.byteLength + offset };
}

export interface GgufWriterOptions {
  readonly metadata: GgufMetadataInput;
  readonly tensors: readonly GgufTensorSpec[];
  /** Overwrite an existing file (atomically, on finish). */
  readonly force?: boolean;
}

/** Writes one GGUF file: header at creation, then `writeTensor` per tensor in order, then `finish`. */
export class GgufWriter {
  readonly path: string;
  readonly layout: GgufLayout;
  private readonly file: AtomicFile;
  private next = 0;
  private closed = false;

  private constructor(path: string, layout: GgufLayout) {
    this.path = path;
    this.layout = layout;
    this.file = new AtomicFile(path);
    try {
      this.file.write(layout.header);
    } catch (err) {
      this.file.abort();
      throw err;
    }
  }

  static create(path: string, options: GgufWriterOptions): GgufWriter {
    guardOutput(path, options.force ?? false);
    return new GgufWriter(path, layoutGguf(options.metadata, options.tensors));
  }

  /** The tensor the writer expects next, or undefined when all are written. */
  get pending(): PlannedTensor | undefined {
    return this.layout.tensors[this.next];
  }

  /** Writes the next tensor's encoded bytes (one buffer or chunks); `name` must be the next declared tensor. */
  writeTensor(name: string, data: Uint8Array | Iterable<Uint8Array>): void {
    this.guarded(() => {
      const t = this.pending;
      if (t === undefined) bad(`"${name}" written after every declared tensor`);
      if (t.name !== name) bad(`tensors must be written in declaration order: expected "${t.name}", got "${name}"`);
      let written = 0;
      const chunks = data instanceof Uint8Array ? [data] : data;
      for (const chunk of chunks) {
        written += chunk.byteLength;
        if (written > t.byteLength) bad(`tensor "${name}": more than its ${t.byteLength} bytes`);
        this.file.write(chunk);
      }
      if (written !== t.byteLength) bad(`tensor "${name}": ${written} bytes written, expected ${t.byteLength}`);
      this.file.align(this.layout.alignment);
      this.next++;
    });
  }

  /** Checks that every tensor was written, then renames the file into place. */
  finish(): void {
    this.guarded(() => {
      const t = this.pending;
      if (t !== undefined) bad(`finished before tensor "${t.name}" (${this.layout.tensors.length - this.next} left unwritten)`);
      if (this.file.position !== this.layout.fileSize) bad(`internal size mismatch (${this.file.position} vs ${this.layout.fileSize})`);
      this.file.commit();
      this.closed = true;
    });
  }

  /** Drops the temp file; the target is left as it was. */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    this.file.abort();
  }

  private guarded(fn: () => void): void {
    if (this.closed) bad('writer already finished or aborted');
    try {
      fn();
    } catch (err) {
      this.abort();
      throw err;
    }
  }
}

export interface GgufTensorInput extends GgufTensorSpec {
  readonly data: Uint8Array | Iterable<Uint8Array>;
}

/** Writes a whole GGUF in one call (atomically). */
export function writeGguf(path: string, metadata: GgufMetadataInput, tensors: readonly GgufTensorInput[], options: { force?: boolean } = {}): GgufLayout {
  const writer = GgufWriter.create(path, { metadata, tensors, force: options.force ?? false });
  for (const t of tensors) writer.writeTensor(t.name, t.data);
  writer.finish();
  return writer.layout;
}

/** The little-endian bytes of a Float32Array (a view, no copy, on little-endian hosts). */
export function f32Bytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

