/** Building and reading NodeProto attributes and small tensors. */
import { AttributeType, DataType, toNumber, type AttributeProto, type NodeProto, type TensorProto } from './proto.js';

export type AttrValue = number | string | number[] | string[] | TensorProto | { ints: number[] } | { floats: number[] } | { float: number } | { int: number };

/**
 * Builds an attribute. Plain numbers become INT when integral, FLOAT otherwise;
 * use `{ float: 1 }` or `{ floats: [...] }` to force float storage.
 */
export function makeAttribute(name: string, value: AttrValue): AttributeProto {
  if (typeof value === 'number') {
    return Number.isInteger(value) ? { name, type: AttributeType.INT, i: value } : { name, type: AttributeType.FLOAT, f: value };
  }
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: Buffer.from(value, 'utf8') };
  if (Array.isArray(value)) {
    if (value.length > 0 && typeof value[0] === 'string') {
      return { name, type: AttributeType.STRINGS, strings: (value as string[]).map((s) => Buffer.from(s, 'utf8')) };
    }
    return { name, type: AttributeType.INTS, ints: value as number[] };
  }
  if ('ints' in value) return { name, type: AttributeType.INTS, ints: value.ints };
  if ('floats' in value) return { name, type: AttributeType.FLOATS, floats: value.floats };
  if ('float' in value) return { name, type: AttributeType.FLOAT, f: value.float };
  if ('int' in value) return { name, type: AttributeType.INT, i: value.int };
  return { name, type: AttributeType.TENSOR, t: value };
}

export function getAttribute(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name);
}

export function attrInt(node: NodeProto, name: string, fallback: number): number {
  const a = getAttribute(node, name);
  return a?.i !== undefined && a.i !== null ? toNumber(a.i) : fallback;
}

export function attrFloat(node: NodeProto, name: string, fallback: number): number {
  const a = getAttribute(node, name);
  return typeof a?.f === 'number' ? a.f : fallback;
}

export function attrInts(node: NodeProto, name: string): number[] | undefined {
  const a = getAttribute(node, name);
  return a?.ints && a.ints.length > 0 ? a.ints.map(toNumber) : undefined;
}

export function attrString(node: NodeProto, name: string): string | undefined {
  const a = getAttribute(node, name);
  return a?.s ? Buffer.from(a.s).toString('utf8') : undefined;
}

export function makeTensor(name: string, dataType: number, dims: readonly number[], bytes: Uint8Array): TensorProto {
  return { name, dataType, dims: [...dims], rawData: bytes };
}

export function floatTensor(name: string, dims: readonly number[], values: Float32Array | readonly number[]): TensorProto {
  const arr = values instanceof Float32Array ? values : Float32Array.from(values);
  return makeTensor(name, DataType.FLOAT, dims, new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
}

export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): TensorProto {
  const arr = BigInt64Array.from(values.map((v) => BigInt(v)));
  return makeTensor(name, DataType.INT64, dims, new Uint8Array(arr.buffer));
}

/** A tensor of zeros with the given element type (fp32, fp16, bf16, fp64). */
export function zerosTensor(name: string, dataType: number, dims: readonly number[], elementBytes: number): TensorProto {
  const count = dims.reduce((a, b) => a * b, 1);
  return makeTensor(name, dataType, dims, new Uint8Array(count * elementBytes));
}
