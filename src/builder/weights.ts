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

