/**
 * A small reader for the safetensors format: an 8-byte little-endian header
 * length, a JSON header mapping tensor names to {dtype, shape, data_offsets},
 * then the raw little-endian data. Only the header is read up front; each
 * tensor is read by offset into its own buffer when asked for, so multi-GB
 * files are never loaded whole.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { CorruptFileError, FileNotFoundError, UnsupportedDtypeError } from '../errors.js';

/** Byte width of every dtype the format defines. */
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8,
};

/** Dtypes that can be read as floats (converted to float32). */
export const FLOAT_DTYPES: readonly string[] = ['F32', 'F16', 'BF16'];

/** Largest header accepted (the reference implementation uses 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

export interface TensorEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute byte offset of the data in the file. */
  offset: number;
  byteLength: number;
}

export function isFloatDtype(dtype: string): boolean {
  return FLOAT_DTYPES.includes(dtype);
}

export class SafetensorsFile {
  readonly path: string;
  readonly tensors: ReadonlyMap<string, TensorEntry>;
  readonly metadata: Readonly<Record<string, string>>;
  readonly size: number;

  private constructor(path: string, size: number, tensors: Map<string, TensorEntry>, metadata: Record<string, string>) {
    this.path = path;
    this.size = size;
    this.tensors = tensors;
    this.metadata = metadata;
  }

  /** Opens a file and validates its header (offsets, dtypes, shapes) without reading tensor data. */
  static open(path: string): SafetensorsFile {
    if (!existsSync(path)) throw new FileNotFoundError(path, 'safetensors file');
    if (statSync(path).isDirectory()) throw new CorruptFileError(path, 'is a directory, expected a .safetensors file');
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size < 8) throw new CorruptFileError(path, `too small to be a safetensors file (${size} bytes)`);
      const lenBuf = Buffer.alloc(8);
      readExactly(fd, lenBuf, 0, path);
      const headerLen = lenBuf.readBigUInt64LE(0);
      if (headerLen > BigInt(size - 8)) {
        throw new CorruptFileError(path, `header length ${headerLen} exceeds the file size ${size}: truncated or not a safetensors file`);
      }
      if (headerLen > BigInt(MAX_HEADER_BYTES)) throw new CorruptFileError(path, `header length ${headerLen} is too large`);
      const n = Number(headerLen);
      const headerBuf = Buffer.alloc(n);
      readExactly(fd, headerBuf, 8, path);
      const { tensors, metadata } = parseHeader(path, headerBuf, 8 + n, size);
      return new SafetensorsFile(path, size, tensors, metadata);
    } finally {
      closeSync(fd);
    }
  }

  get(name: string): TensorEntry | undefined {
    return this.tensors.get(name);
  }

  /** Reads one tensor and converts it to float32 (F32, F16, BF16). */
  readFloat32(name: string): Float32Array {
    const entry = this.tensors.get(name);
    if (!entry) throw new CorruptFileError(this.path, `tensor "${name}" not found`);
    if (!isFloatDtype(entry.dtype)) {
      throw new UnsupportedDtypeError(`${this.path}: tensor "${name}" has dtype ${entry.dtype}; only ${FLOAT_DTYPES.join(', ')} are supported`);
    }
    const bytes = new Uint8Array(entry.byteLength);
    const fd = openSync(this.path, 'r');
    try {
      readExactly(fd, bytes, entry.offset, this.path);
    } finally {
      closeSync(fd);
    }
    return toFloat32(bytes, entry.dtype);
  }
}

function readExactly(fd: number, into: Uint8Array, position: number, path: string): void {
  let got = 0;
  while (got < into.byteLength) {
    const n = readSync(fd, into, got, into.byteLength - got, position + got);
    if (n <= 0) throw new CorruptFileError(path, `unexpected end of file at byte ${position + got}: truncated`);
    got += n;
  }
}

function parseHeader(path: string, buf: Buffer, dataStart: number, fileSize: number): { tensors: Map<string, TensorEntry>; metadata: Record<string, string> } {
  let json: unknown;
  try {
    json = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw new CorruptFileError(path, `corrupt safetensors header (invalid JSON: ${(err as Error).message})`, { cause: err });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new CorruptFileError(path, 'corrupt safetensors header (not a JSON object)');
  }
  const dataSize = fileSize - dataStart;
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value === 'object' && value !== null) metadata = value as Record<string, string>;
      continue;
    }
    const bad = (detail: string): CorruptFileError => new CorruptFileError(path, `corrupt safetensors header: tensor "${name}" ${detail}`);
    if (typeof value !== 'object' || value === null) throw bad('is not an object');
    const { dtype, shape, data_offsets: offsets } = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string') throw bad('has no dtype');
    const width = DTYPE_BYTES[dtype];
    if (width === undefined) throw bad(`has unknown dtype "${dtype}"`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) throw bad('has an invalid shape');
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)) {
      throw bad('has invalid data_offsets');
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) throw bad(`has data_offsets [${begin}, ${end}] that end before they begin`);
    const dims = shape as number[];
    const expected = dims.reduce((a, b) => a * b, 1) * width;
    if (end - begin !== expected) throw bad(`has ${end - begin} bytes but shape [${dims.join(', ')}] × ${dtype} needs ${expected}`);
    if (end > dataSize) {
      throw new CorruptFileError(path, `truncated: tensor "${name}" needs data bytes ${begin}..${end} but the file holds ${dataSize}`);
    }
    tensors.set(name, { name, dtype, shape: dims, offset: dataStart + begin, byteLength: end - begin });
  }
  return { tensors, metadata };
}

let halfTable: Float32Array | undefined;

/** float32 value of every IEEE half bit pattern (256 KiB, built once). */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) table[h] = sign * frac * 2 ** -24;
    else if (exp === 31) table[h] = frac ? NaN : sign * Infinity;
    else table[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  halfTable = table;
  return table;
}

/** Converts little-endian F32/F16/BF16 bytes (a fresh, 4-byte aligned buffer) to float32. */
export function toFloat32(bytes: Uint8Array, dtype: string): Float32Array {
  switch (dtype) {
    case 'F32':
      if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      return new Float32Array(bytes.slice().buffer);
    case 'F16': {
      const src = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
      const table = halfToFloatTable();
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = table[src[i] as number] as number;
      return out;
    }
    case 'BF16': {
      const src = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
      const out = new Float32Array(src.length);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < src.length; i++) bits[i] = (src[i] as number) << 16;
      return out;
    }
    default:
      throw new UnsupportedDtypeError(`dtype ${dtype} is not supported; only ${FLOAT_DTYPES.join(', ')} are`);
  }
}
