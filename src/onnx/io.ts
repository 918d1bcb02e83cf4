/**
 * Reading and writing ModelProto files, with external data.
 *
 * Reading keeps initializer bytes as views into the file buffer; external data
 * is validated but not loaded. Writing streams initializer bytes one tensor at
 * a time into `<model>.data` when external data is used, so a model is never
 * held more than once in memory on top of its source buffer.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize } from 'node:path';
import { CorruptFileError, FileNotFoundError } from '../errors.js';
import { AtomicFile, atomicWriteFile } from '../files/fs.js';
import { halfToFloat } from './fp16.js';
import {
  DataType, ModelCodec, elementSize, toNumber,
  type GraphProto, type ModelProto, type StringStringEntry, type TensorProto,
} from './proto.js';

export interface LoadedModel {
  model: ModelProto;
  /** Absolute path of the .onnx file. */
  path: string;
  /** Directory that external data locations are relative to. */
  dir: string;
  /** Size of the .onnx file in bytes. */
  graphBytes: number;
  /** External data files referenced by initializers (absolute, unique). */
  externalFiles: string[];
}

export interface ExternalRef { file: string; offset: number; length: number }

const EXTERNAL = 1;

function entry(list: StringStringEntry[] | undefined, key: string): string | undefined {
  return list?.find((e) => e.key === key)?.value;
}

/** Where an external tensor's bytes live, or undefined when the tensor is inline. */
export function externalRef(tensor: TensorProto, dir: string): ExternalRef | undefined {
  if (tensor.dataLocation !== EXTERNAL) return undefined;
  const location = entry(tensor.externalData, 'location');
  if (!location) throw new CorruptFileError(dir, `tensor "${tensor.name ?? ''}" is external but has no location`);
  if (isAbsolute(location) || normalize(location).startsWith('..')) {
    throw new CorruptFileError(dir, `tensor "${tensor.name ?? ''}" has an external location outside the model directory: ${location}`);
  }
  const offset = Number(entry(tensor.externalData, 'offset') ?? '0');
  const lengthText = entry(tensor.externalData, 'length');
  const length = lengthText !== undefined ? Number(lengthText) : tensorByteLength(tensor);
  return { file: join(dir, location), offset, length };
}

/** Number of elements implied by a tensor's dims. */
export function tensorElementCount(tensor: TensorProto): number {
  return tensor.dims.reduce<number>((n, d) => n * toNumber(d), 1);
}

export function tensorByteLength(tensor: TensorProto): number {
  const size = elementSize(tensor.dataType ?? 0);
  return size * tensorElementCount(tensor);
}

export function readModel(path: string): LoadedModel {
  if (!existsSync(path)) throw new FileNotFoundError(path, 'ONNX model');
  if (statSync(path).isDirectory()) throw new CorruptFileError(path, 'is a directory, expected an .onnx file');
  const buf = readFileSync(path);
  if (buf.byteLength === 0) throw new CorruptFileError(path, 'empty file, not an ONNX model');
  let model: ModelProto;
  try {
    model = ModelCodec.decode(buf);
  } catch (err) {
    throw new CorruptFileError(path, `not a valid ONNX model (${(err as Error).message}); the file may be truncated or corrupt`, { cause: err });
  }
  if (!model.graph || model.graph.node.length === 0 || model.opsetImport.length === 0) {
    throw new CorruptFileError(path, 'not a valid ONNX model (no graph, nodes or opset imports)');
  }
  const dir = dirname(path);
  const externalFiles = new Set<string>();
  const sizes = new Map<string, number>();
  for (const t of model.graph.initializer) {
    const ref = externalRef(t, dir);
    if (!ref) continue;
    if (!sizes.has(ref.file)) {
      if (!existsSync(ref.file)) throw new FileNotFoundError(ref.file, `external data for ${basename(path)}`);
      sizes.set(ref.file, statSync(ref.file).size);
    }
    const size = sizes.get(ref.file) ?? 0;
    if (ref.offset + ref.length > size) {
      throw new CorruptFileError(ref.file, `external data truncated: tensor "${t.name ?? ''}" needs bytes ${ref.offset}..${ref.offset + ref.length}, file has ${size}`);
    }
    externalFiles.add(ref.file);
  }
  return { model, path, dir, graphBytes: buf.byteLength, externalFiles: [...externalFiles] };
}

/** The bytes of a tensor in little-endian raw layout, wherever they are stored. */
export function tensorBytes(tensor: TensorProto, dir: string): Uint8Array {
  const ref = externalRef(tensor, dir);
  if (ref) {
    const out = new Uint8Array(ref.length);
    const fd = openSync(ref.file, 'r');
    try {
      let got = 0;
      while (got < ref.length) {
        const n = readSync(fd, out, got, ref.length - got, ref.offset + got);
        if (n <= 0) throw new CorruptFileError(ref.file, `unexpected end of external data for "${tensor.name ?? ''}"`);
        got += n;
      }
    } finally {
      closeSync(fd);
    }
    return out;
  }
  if (tensor.rawData && tensor.rawData.byteLength > 0) return tensor.rawData;
  return typedFieldBytes(tensor);
}

function typedFieldBytes(t: TensorProto): Uint8Array {
  const dt = t.dataType ?? 0;
  switch (dt) {
    case DataType.FLOAT: return new Uint8Array(Float32Array.from(t.floatData ?? []).buffer);
    case DataType.DOUBLE: return new Uint8Array(Float64Array.from(t.doubleData ?? []).buffer);
    case DataType.INT64: return new Uint8Array(BigInt64Array.from((t.int64Data ?? []).map((v) => BigInt(typeof v === 'number' ? v : v.toString()))).buffer);
    case DataType.INT32: return new Uint8Array(Int32Array.from(t.int32Data ?? []).buffer);
    case DataType.INT8: return new Uint8Array(Int8Array.from(t.int32Data ?? []).buffer);
    case DataType.UINT8: case DataType.BOOL: return Uint8Array.from(t.int32Data ?? []);
    case DataType.INT16: return new Uint8Array(Int16Array.from(t.int32Data ?? []).buffer);
    case DataType.UINT16: case DataType.FLOAT16: case DataType.BFLOAT16:
      return new Uint8Array(Uint16Array.from(t.int32Data ?? []).buffer);
    default: return new Uint8Array(0);
  }
}

/** Float32 values of a float tensor (fp32, fp16 or bf16 storage). */
export function tensorFloat32(tensor: TensorProto, dir: string): Float32Array {
  const bytes = tensorBytes(tensor, dir);
  const dt = tensor.dataType ?? 0;
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : new Uint8Array(bytes); // a copy (Buffer.slice would be a view)
  if (dt === DataType.FLOAT) return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
  const u16 = new Uint16Array(new Uint8Array(bytes).buffer);
  const out = new Float32Array(u16.length);
  if (dt === DataType.FLOAT16) for (let i = 0; i < u16.length; i++) out[i] = halfToFloat(u16[i] ?? 0);
  else if (dt === DataType.BFLOAT16) {
    const u32 = new Uint32Array(out.buffer);
    for (let i = 0; i < u16.length; i++) u32[i] = (u16[i] ?? 0) << 16;
  } else throw new CorruptFileError(dir, `tensor "${tensor.name ?? ''}" is not a float tensor`);
  return out;
}

export type ExternalDataPolicy = 'auto' | 'always' | 'never';

export interface WriteOptions {
  /** Directory the source model's external data is relative to. */
  sourceDir?: string;
  /** auto: external when the source used it or inline weights exceed 64 MiB. */
  externalData?: ExternalDataPolicy;
  /** Inline tensors smaller than this stay inline when writing external data. */
  externalThreshold?: number;
}

const AUTO_EXTERNAL_BYTES = 64 * 1024 * 1024;
const ALIGNMENT = 64;

function allGraphsInitializers(graph: GraphProto): TensorProto[] {
  return graph.initializer;
}

/**
 * Writes a model to `outPath` atomically. With external data, initializer
 * bytes are streamed into `<outPath>.data` tensor by tensor.
 */
export function writeModel(model: ModelProto, outPath: string, options: WriteOptions = {}): { dataFile?: string } {
  const graph = model.graph;
  if (!graph) throw new CorruptFileError(outPath, 'model has no graph');
  const sourceDir = options.sourceDir ?? dirname(outPath);
  const inits = allGraphsInitializers(graph);
  const anyExternal = inits.some((t) => t.dataLocation === EXTERNAL);
  const inlineBytes = inits.reduce((n, t) => n + (t.rawData?.byteLength ?? 0), 0);
  const policy = options.externalData ?? 'auto';
  const external = policy === 'always' || (policy === 'auto' && (anyExternal || inlineBytes > AUTO_EXTERNAL_BYTES));
  const threshold = options.externalThreshold ?? 1024;

  if (!external) {
    const initializer = inits.map((t) => (t.dataLocation === EXTERNAL ? inlineTensor(t, sourceDir) : t));
    atomicWriteFile(outPath, ModelCodec.encode({ ...model, graph: { ...graph, initializer } }));
    return {};
  }

  const dataName = `${basename(outPath)}.data`;
  const data = new AtomicFile(join(dirname(outPath), dataName));
  try {
    const initializer = inits.map((t) => {
      const isExt = t.dataLocation === EXTERNAL;
      const inlineSize = t.rawData?.byteLength ?? 0;
      if (!isExt && inlineSize < threshold) return t;
      const bytes = tensorBytes(t, sourceDir);
      data.align(ALIGNMENT);
      const offset = data.write(bytes);
      const copy: TensorProto = { ...t, dataLocation: EXTERNAL, externalData: [
        { key: 'location', value: dataName },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(bytes.byteLength) },
      ] };
      delete copy.rawData;
      delete copy.floatData; delete copy.int32Data; delete copy.int64Data; delete copy.doubleData; delete copy.uint64Data;
      return copy;
    });
    atomicWriteFile(outPath, ModelCodec.encode({ ...model, graph: { ...graph, initializer } }));
    data.commit();
  } catch (err) {
    data.abort();
    throw err;
  }
  return { dataFile: join(dirname(outPath), dataName) };
}

function inlineTensor(t: TensorProto, dir: string): TensorProto {
  const copy: TensorProto = { ...t, rawData: tensorBytes(t, dir), dataLocation: 0 };
  delete copy.externalData;
  return copy;
}
