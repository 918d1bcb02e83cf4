/**
 * Streaming initializers to disk while the graph is built: each tensor's bytes
 * are appended to a staging file as soon as they are computed, and the graph
 * keeps only an external-data reference, so the builder never holds more
 * than a few tensors in memory. Small tensors stay inline.
 */
import { closeSync, openSync, rmSync } from 'node:fs';
import { basename } from 'node:path';
import { floatTensor } from '../onnx/attributes.js';
import { DataType, type TensorProto } from '../onnx/proto.js';
import { writeAll } from '../files/fs.js';

const EXTERNAL = 1;
const ALIGNMENT = 64;
const INLINE_LIMIT = 1024;

export class WeightWriter {
  readonly path: string;
  private fd: number;
  private position = 0;
  private closed = false;
  /** Bytes of tensor data written (inline and external). */
  bytes = 0;

  constructor(path: string) {
    this.path = path;
    this.fd = openSync(path, 'w');
  }

  /** A float32 initializer named `name`; data is written out now and may be reused by the caller afterwards. */
  float(name: string, dims: readonly number[], data: Float32Array): TensorProto {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.bytes += bytes.byteLength;
    if (bytes.byteLength < INLINE_LIMIT) return floatTensor(name, dims, data.slice());
    const pad = (ALIGNMENT - (this.position % ALIGNMENT)) % ALIGNMENT;
    if (pad > 0) { writeAll(this.fd, new Uint8Array(pad)); this.position += pad; }
    const offset = this.position;
    writeAll(this.fd, bytes);
    this.position += bytes.byteLength;
    return {
      name,
      dataType: DataType.FLOAT,
      dims: [...dims],
      dataLocation: EXTERNAL,
      externalData: [
        { key: 'location', value: basename(this.path) },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(bytes.byteLength) },
      ],
    };
  }

  close(): void {
    if (this.closed) return;
    closeSync(this.fd);
    this.closed = true;
  }

  /** Closes and deletes the staging file. */
  remove(): void {
    this.close();
    rmSync(this.path, { force: true });
  }
}

/**
 * Writes the transpose of `src` ([rows, cols], row-major) into columns
 * `colOffset .. colOffset + rows` of `dst` ([cols, dstCols]), scaled by `scale`.
 * This turns a Hugging Face Linear weight [out, in] into a MatMul operand
 * [in, out], optionally packed beside other projections.
 */
export function transposeInto(src: Float32Array, rows: number, cols: number, dst: Float32Array, dstCols: number, colOffset: number, scale = 1): void {
  const TILE = 32;
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(rows, r0 + TILE);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(cols, c0 + TILE);
      for (let r = r0; r < r1; r++) {
        const srcRow = r * cols;
        const dstCol = colOffset + r;
        for (let c = c0; c < c1; c++) dst[c * dstCols + dstCol] = (src[srcRow + c] as number) * scale;
      }
    }
  }
}

/** Copies `src` into `dst` at `offset`, scaled. */
export function copyScaled(src: Float32Array, dst: Float32Array, offset: number, scale = 1): void {
  if (scale === 1) { dst.set(src, offset); return; }
  for (let i = 0; i < src.length; i++) dst[offset + i] = (src[i] as number) * scale;
}
