import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { dequantizeQ8_0, q8_0Bytes, quantizeQ8_0 } from '../../src/gguf/q8_0.js';

describe('Q8_0 blocks (ggml layout)', () => {
  it('stores an fp16 scale max|x|/127 and int8 codes rounded half away from zero', () => {
    const x = new Float32Array(64);
    x[0] = 127; x[1] = 2.5; x[2] = -2.5; x[3] = -127; x[4] = 0.49999997; // block 0: d = 1 exactly
    const q = quantizeQ8_0(x); // block 1: all zero, d = 0
    expect(q.byteLength).toBe(68);
    const view = new DataView(q.buffer);
    expect(view.getUint16(0, true)).toBe(0x3c00); // fp16 1.0
    expect([1, 2, 3, 4, 5, 6].map((i) => view.getInt8(1 + i))).toEqual([127, 3, -3, -127, 0, 0]);
    expect(view.getUint16(34, true)).toBe(0);
    expect(Array.from(q.subarray(36))).toEqual(new Array(32).fill(0));
    expect(Array.from(dequantizeQ8_0(q).subarray(0, 5))).toEqual([127, 3, -3, -127, 0]);
  });

  it('dequantizes within half a step of the input', () => {
    const x = Float32Array.from({ length: 32 * 8 }, (_, i) => Math.sin(i * 0.7) * (1 + (i >> 5)));
    const y = dequantizeQ8_0(quantizeQ8_0(x));
    for (let b = 0; b < 8; b++) {
      const block = x.subarray(b * 32, b * 32 + 32);
      const step = Math.max(...Array.from(block, Math.abs)) / 127;
      for (let j = 0; j < 32; j++) expect(Math.abs((y[b * 32 + j] as number) - (block[j] as number))).toBeLessThanOrEqual(step * 0.5 + step * 2 ** -10 * 127);
    }
  });

  it('refuses lengths that are not whole blocks', () => {
    expect(() => q8_0Bytes(33)).toThrow(InvalidArgumentError);
    expect(() => quantizeQ8_0(new Float32Array(31))).toThrow(/multiple of 32/);
  });
});
