/** Reused buffers for packed hook feeds. */
import type { FloatDtype } from '../hooks/manifest.js';

/**
 * A zeroed view of `size` elements from the buffer kept for `kind`, grown
 * only when a step needs more: packed feeds reuse one buffer per kind.
 */
export function zeroedView<K>(buffers: Map<K, Float32Array | Uint16Array>, kind: K, size: number, dtype: FloatDtype): Float32Array | Uint16Array {
  let buf = buffers.get(kind);
  if (!buf || buf.length < size) {
    buf = dtype === 'float16' ? new Uint16Array(size) : new Float32Array(size);
    buffers.set(kind, buf);
  }
  const view = buf.subarray(0, size);
  view.fill(0);
  return view;
}
