/**
 * A read-only memory kernel: a WebAssembly SIMD function that sums a buffer
 * 128 bytes per iteration into eight independent 128-bit integer accumulators
 * (so neither add latency nor a dependency chain limits it) and writes
 * nothing. The module is a few dozen bytes, assembled here so the bench has
 * no build step and no dependency.
 */

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
const str = (s: string) => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];

/** (p: i32, end: i32) → i32: the lane sum of the i32x4 sums of [p, end), end − p a multiple of 128. */
function moduleBytes(pages: number): Uint8Array {
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const load = (offset: number) => [0xfd, 0x00, 0x04, ...leb(offset)];
  const add = [0xfd, 0xae, 0x01]; // i32x4.add
  const lane = (i: number) => [0xfd, 0x1b, i]; // i32x4.extract_lane
  const acc = (a: number, offset: number) => [...get(a), ...get(0), ...load(offset), ...add, ...set(a)];
  const body = [
    0x01, 0x08, 0x7b, // 8 locals of type v128 (indices 2..9)
    0x02, 0x40, 0x03, 0x40, // block, loop
    ...get(0), ...get(1), 0x4f, 0x0d, 0x01, // p >= end → break
    ...acc(2, 0), ...acc(3, 16), ...acc(4, 32), ...acc(5, 48), ...acc(6, 64), ...acc(7, 80), ...acc(8, 96), ...acc(9, 112),
    ...get(0), 0x41, 0x80, 0x01, 0x6a, ...set(0), // p += 128
    0x0c, 0x00, 0x0b, 0x0b, // br loop; end loop; end block
    ...get(2), ...get(3), ...add, ...get(4), ...add, ...get(5), ...add, ...get(6), ...add, ...get(7), ...add, ...get(8), ...add, ...get(9), ...add, ...set(2),
    ...get(2), ...lane(0), ...get(2), ...lane(1), 0x6a, ...get(2), ...lane(2), 0x6a, ...get(2), ...lane(3), 0x6a,
    0x0b,
  ];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f]),
    ...section(2, [0x01, ...str('e'), ...str('m'), 0x02, 0x00, ...leb(pages)]),
    ...section(3, [0x01, 0x00]),
    ...section(7, [0x01, ...str('s'), 0x00, 0x00]),
    ...section(10, [0x01, ...leb(body.length), ...body]),
  ]);
}

export interface ReadKernel {
  /** The buffer the kernel reads (wasm memory), filled with a pattern. */
  bytes: number;
  /** Reads every byte once; returns the checksum so the pass cannot be elided. */
  pass(): number;
}

/** The slice of the WebAssembly JS API used here (the project's TypeScript libs do not declare it). */
interface Wasm {
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
}

export function readKernel(bytes: number): ReadKernel {
  const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;
  if (bytes % 65536 !== 0 || bytes > 2 ** 31) throw new Error('read kernel: bytes must be a multiple of 64 KiB, at most 2 GiB');
  const pages = bytes / 65536;
  const memory = new wasm.Memory({ initial: pages });
  const instance = new wasm.Instance(new wasm.Module(moduleBytes(pages)), { e: { m: memory } });
  const sum = instance.exports.s;
  if (typeof sum !== 'function') throw new Error('read kernel: no export');
  const view = new Int32Array(memory.buffer);
  for (let i = 0; i < view.length; i++) view[i] = i & 0xff; // touch every page
  const run = (end: number) => Number((sum as (p: number, e: number) => number)(0, end));
  // Self-check on the first 64 KiB: the kernel must see every byte it claims to read.
  let expected = 0;
  for (let i = 0; i < 16384; i++) expected = (expected + (view[i] as number)) | 0;
  if (run(65536) !== expected) throw new Error('read kernel: checksum mismatch');
  return { bytes, pass: () => run(bytes) };
}
