/**
 * Typed access to ONNX protobuf messages, backed by protobufjs codecs built
 * from {@link ONNX_PROTO}. Decoding a file keeps `rawData` fields as views into
 * the file buffer (no copy); int64 fields stay lossless (`Long`) and are read
 * through {@link toNumber}.
 */
import protobuf from 'protobufjs';
import type Long from 'long';
import { ONNX_PROTO } from './schema.js';

export type Int64 = number | Long;

export interface StringStringEntry { key?: string; value?: string }

export interface TensorProto {
  dims: Int64[];
  dataType?: number;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: Int64[];
  doubleData?: number[];
  uint64Data?: Int64[];
  stringData?: Uint8Array[];
  name?: string;
  docString?: string;
  rawData?: Uint8Array;
  externalData?: StringStringEntry[];
  dataLocation?: number;
}

export interface TensorShapeDim { dimValue?: Int64; dimParam?: string; denotation?: string }
export interface TypeProto {
  tensorType?: { elemType?: number; shape?: { dim: TensorShapeDim[] } };
  sequenceType?: unknown;
  mapType?: unknown;
  optionalType?: unknown;
  sparseTensorType?: unknown;
  denotation?: string;
}

export interface ValueInfoProto { name?: string; type?: TypeProto; docString?: string }

export interface AttributeProto {
  name?: string;
  type?: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats?: number[];
  ints?: Int64[];
  strings?: Uint8Array[];
  tensors?: TensorProto[];
  graphs?: GraphProto[];
}

export interface NodeProto {
  input: string[];
  output: string[];
  name?: string;
  opType?: string;
  domain?: string;
  attribute: AttributeProto[];
  docString?: string;
}

export interface GraphProto {
  node: NodeProto[];
  name?: string;
  initializer: TensorProto[];
  sparseInitializer?: unknown[];
  docString?: string;
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  valueInfo: ValueInfoProto[];
  quantizationAnnotation?: unknown[];
}

export interface OperatorSetId { domain?: string; version?: Int64 }

export interface ModelProto {
  irVersion?: Int64;
  opsetImport: OperatorSetId[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: Int64;
  docString?: string;
  graph?: GraphProto;
  metadataProps: StringStringEntry[];
  trainingInfo?: unknown[];
  functions?: unknown[];
}

/** ONNX TensorProto.DataType values used across the library. */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  BFLOAT16: 16,
} as const;

export const AttributeType = {
  FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10,
} as const;

/** Byte width of fixed-size element types (0 for types without one). */
export function elementSize(dataType: number): number {
  switch (dataType) {
    case DataType.FLOAT: case DataType.INT32: case DataType.UINT32: return 4;
    case DataType.INT64: case DataType.UINT64: case DataType.DOUBLE: return 8;
    case DataType.FLOAT16: case DataType.BFLOAT16: case DataType.INT16: case DataType.UINT16: return 2;
    case DataType.INT8: case DataType.UINT8: case DataType.BOOL: return 1;
    default: return 0;
  }
}

export function dataTypeName(dataType: number): string {
  const entry = Object.entries(DataType).find(([, v]) => v === dataType);
  return entry ? entry[0].toLowerCase() : `type${dataType}`;
}

/** Converts an int64 field (number or Long) to a JS number. */
export function toNumber(v: Int64 | undefined | null): number {
  if (v === undefined || v === null) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

const root = protobuf.parse(ONNX_PROTO, { keepCase: false }).root;

interface Codec<T> {
  decode(buf: Uint8Array): T;
  encode(msg: T): Uint8Array;
}

function codec<T>(name: string): Codec<T> {
  const type = root.lookupType(name);
  return {
    decode: (buf) => type.decode(buf) as unknown as T,
    encode: (msg) => type.encode(msg as unknown as protobuf.Message).finish(),
  };
}

export const ModelCodec = codec<ModelProto>('onnx.ModelProto');
export const GraphCodec = codec<GraphProto>('onnx.GraphProto');
export const TensorCodec = codec<TensorProto>('onnx.TensorProto');
