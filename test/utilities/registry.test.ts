import { describe, expect, it } from 'vitest';
import { UnknownUtilityError } from '../../src/errors.js';
import { parseUtility } from '../../src/utilities/parse.js';
import { registerUtility, utilityKind, utilityUsages } from '../../src/utilities/registry.js';

describe('the utility registry', () => {
  it('lists the built-in kinds and resolves aliases', () => {
    expect(utilityUsages()).toEqual(['hidden[:<site>]', 'minilm', 'rouge-l', 'chrf']);
    expect(utilityKind('rougel')?.name).toBe('rouge-l');
  });

  it('parses specs of a kind registered from outside', async () => {
    registerUtility({
      name: 'test-same-length', usage: 'test-same-length', description: '1 when two responses have the same length', takesArg: false,
      create: (_arg, spec) => ({
        spec, kind: 'test-same-length', bounds: [0, 1], symmetric: true, sites: [],
        matrix: (items) => Promise.resolve(Float64Array.from(items.flatMap((a) => items.map((b) => (a.response.length === b.response.length ? 1 : 0))))),
      }),
    });
    const u = parseUtility('Test-Same-Length');
    expect([...(await u.matrix([{ response: 'ab' }, { response: 'cd' }, { response: 'e' }]))]).toEqual([1, 1, 0, 1, 1, 0, 0, 0, 1]);
    expect(() => parseUtility('test-same-length:x')).toThrow(UnknownUtilityError);
    expect(() => parseUtility('bleu')).toThrow(/utilities: hidden\[:<site>\], minilm, rouge-l, chrf, test-same-length/);
  });
});
