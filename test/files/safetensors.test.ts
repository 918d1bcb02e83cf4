/** The safetensors reader on small hand-made files. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SafetensorsFile } from '../../src/files/safetensors.js';
import { CorruptFileError, FileNotFoundError, UnsupportedDtypeError } from '../../src/errors.js';
import { bf16Tensor, cleanupTempDirs, f16Tensor, f32Tensor, safetensorsBytes, tempDir, writeSafetensors } from '../builder/helpers.js';

afterAll(cleanupTempDirs);

function file(bytes: Uint8Array): string {
  const path = join(tempDir('st'), 'x.safetensors');
  writeFileSync(path, bytes);
  return path;
}

/** A file with a raw JSON header and `dataBytes` bytes of data. */
function withHeader(header: unknown, dataBytes: number): string {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return file(Buffer.concat([len, json, Buffer.alloc(dataBytes)]));
}

describe('SafetensorsFile', () => {
  it('reads F32, F16 and BF16 tensors as float32', () => {
    const values = Float32Array.from([0, 1, -2, 0.5, 65504, -0.000061035156, 5.960464477539063e-8, 3.140625]);
    const path = join(tempDir('st'), 'm.safetensors');
    writeSafetensors(path, [f32Tensor('a', [2, 4], values), f16Tensor('b', [8], values), bf16Tensor('c', [4, 2], values)], { format: 'pt', note: 'x' });
    const st = SafetensorsFile.open(path);
    expect([...st.tensors.keys()]).toEqual(['a', 'b', 'c']);
    expect(st.metadata).toEqual({ format: 'pt', note: 'x' });
    expect(st.get('c')).toMatchObject({ dtype: 'BF16', shape: [4, 2], byteLength: 16 });
    expect(st.readFloat32('a')).toEqual(values);
    expect(st.readFloat32('b')).toEqual(values); // every value is exactly representable in half
    const bf = st.readFloat32('c');
    // bfloat16 keeps the top 16 bits: 3.140625 = 0x40490000 is exact, 65504 = 0x477fe000 truncates to 65280.
    expect(bf[7]).toBe(3.140625);
    expect(bf[4]).toBe(65280);
    expect(bf[2]).toBe(-2);
  });

  it('handles half infinities and subnormals', () => {
    const bits = Uint16Array.from([0x7c00, 0xfc00, 0x0001, 0x8400]);
    const path = file(safetensorsBytes([{ name: 'h', dtype: 'F16', shape: [4], data: new Uint8Array(bits.buffer) }]));
    expect(Array.from(SafetensorsFile.open(path).readFloat32('h'))).toEqual([Infinity, -Infinity, 2 ** -24, -(2 ** -14)]);
  });

  it('rejects files that are missing, too small or truncated', () => {
    expect(() => SafetensorsFile.open(join(tempDir('st'), 'none.safetensors'))).toThrow(FileNotFoundError);
    expect(() => SafetensorsFile.open(file(new Uint8Array(3)))).toThrow(/too small/);
    const good = safetensorsBytes([f32Tensor('a', [4], Float32Array.from([1, 2, 3, 4]))]);
    expect(() => SafetensorsFile.open(file(good.subarray(0, good.length - 4)))).toThrow(/truncated: tensor "a" needs data bytes 0\.\.16 but the file holds 12/);
    expect(() => SafetensorsFile.open(file(good.subarray(0, 20)))).toThrow(/header length \d+ exceeds the file size 20/);
  });

  it('validates the header', () => {
    const cases: [unknown, number, RegExp][] = [
      [[1, 2], 0, /not a JSON object/],
      [{ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, 8, /has 4 bytes but shape \[2\] × F32 needs 8/],
      [{ a: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }, 8, /end before they begin/],
      [{ a: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, 8, /unknown dtype "Q4"/],
      [{ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 8, /invalid shape/],
      [{ a: { dtype: 'F32', shape: [1], data_offsets: [0] } }, 8, /invalid data_offsets/],
      [{ a: 'x' }, 0, /not an object/],
    ];
    for (const [header, data, pattern] of cases) {
      const err = (() => { try { SafetensorsFile.open(withHeader(header, data)); return undefined; } catch (e) { return e; } })();
      expect(err).toBeInstanceOf(CorruptFileError);
      expect((err as Error).message).toMatch(pattern);
    }
    const bad = Buffer.concat([Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"a":')]);
    expect(() => SafetensorsFile.open(file(bad))).toThrow(/invalid JSON/);
  });

  it('reads integer dtypes only to reject them with a typed error', () => {
    const path = file(safetensorsBytes([{ name: 'q', dtype: 'I8', shape: [4], data: new Uint8Array(4) }, { name: 'n', dtype: 'I32', shape: [1], data: new Uint8Array(4) }]));
    const st = SafetensorsFile.open(path);
    expect(st.get('q')?.dtype).toBe('I8');
    expect(() => st.readFloat32('q')).toThrow(UnsupportedDtypeError);
    expect(() => st.readFloat32('n')).toThrow(/dtype I32/);
    expect(() => st.readFloat32('zzz')).toThrow(/tensor "zzz" not found/);
  });
});
