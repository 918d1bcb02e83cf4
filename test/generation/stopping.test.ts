import { describe, expect, it } from 'vitest';
import { eosToken, firstFinish, maxNewTokens, stopStrings, truncateAtStop } from '../../src/generation/stopping.js';
import { IncrementalDecoder } from '../../src/generation/streamer.js';
import { InvalidArgumentError } from '../../src/errors.js';

describe('stopping criteria', () => {
  it('stop on length, eos and stop strings in order', () => {
    const c = [maxNewTokens(3), eosToken([2]), stopStrings(['END'])];
    expect(firstFinish(c, { ids: [5], text: 'a' })).toBeUndefined();
    expect(firstFinish(c, { ids: [5, 2], text: 'a' })).toBe('eos');
    expect(firstFinish(c, { ids: [5, 6], text: 'xEND' })).toBe('stop');
    expect(firstFinish(c, { ids: [5, 6, 7], text: 'x' })).toBe('length');
  });
  it('truncates at the earliest stop string', () => {
    expect(truncateAtStop('abc. def! g', ['!', '.'])).toBe('abc');
  });
  it('rejects empty stop strings', () => {
    expect(() => stopStrings([''])).toThrow(InvalidArgumentError);
  });
});

describe('IncrementalDecoder', () => {
  // A byte-level toy vocabulary: ids are UTF-8 bytes.
  const decode = (ids: readonly number[]) => Buffer.from(ids).toString('utf8');

  it('never emits half of a multi-byte character', () => {
    const text = 'héllo ☃ 👋!';
    const bytes = [...Buffer.from(text, 'utf8')];
    const d = new IncrementalDecoder(decode);
    const deltas = bytes.map((b) => d.push(b));
    deltas.push(d.flush());
    for (const delta of deltas) expect(delta.includes('\uFFFD')).toBe(false);
    expect(deltas.join('')).toBe(text);
    expect(d.text).toBe(text);
  });
});
