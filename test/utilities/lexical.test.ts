/** Lexical utilities against hand-computed values. */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { chrF, chrFMatrix, rougeL, rougeLMatrix, words } from '../../src/utilities/kinds/lexical.js';
import { parseUtility } from '../../src/utilities/parse.js';
import { UnknownUtilityError } from '../../src/errors.js';

describe('ROUGE-L F1', () => {
  it('hand-computed values', () => {
    // LCS("the cat sat on the mat", "the cat on the mat") = 5: P = 5/6, R = 1, F = 10/11
    expect(rougeL('The cat sat on the mat.', 'the cat on the mat')).toBeCloseTo(10 / 11, 15);
    // LCS(a b c d, b d a) = 2: P = 1/2, R = 2/3, F = 4/7
    expect(rougeL('a b c d', 'b d a')).toBeCloseTo(4 / 7, 15);
    expect(rougeL('x y', 'z')).toBe(0);
    expect(rougeL('same words', 'Same, words!')).toBe(1);
    expect(rougeL('', '')).toBe(1);
    expect(rougeL('', 'a')).toBe(0);
  });

  it('tokenises into lower-cased letter/digit runs', () => {
    expect(words("Don't stop-2 Go!")).toEqual(['don', 't', 'stop', '2', 'go']);
  });

  it('the matrix is symmetric and equals the pairwise values', () => {
    const texts = ['the cat sat on the mat', 'the cat on the mat', 'a b c d', 'b d a', ''];
    const m = rougeLMatrix(texts);
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) expect(m[i * 5 + j]).toBeCloseTo(rougeL(texts[i]!, texts[j]!), 15);
    expect(m[0 * 5 + 1]).toBeCloseTo(10 / 11, 15);
  });
});

describe('chrF', () => {
  it('hand-computed values (β = 2, whitespace removed)', () => {
    // hyp "ab", ref "abc": n=1 P=1 R=2/3; n=2 P=1 R=1/2; orders 3..6 skipped.
    // chrP = 1, chrR = 7/12, chrF = 5·(7/12)/(4 + 7/12) = 7/11
    expect(chrF('ab', 'abc', { order: 2 })).toBeCloseTo(7 / 11, 15);
    expect(chrF('ab', 'abc')).toBeCloseTo(7 / 11, 15);
    // reversed: chrP = 7/12, chrR = 1, chrF = 5·(7/12)/(4·7/12 + 1) = 7/8
    expect(chrF('abc', 'ab')).toBeCloseTo(7 / 8, 15);
    // clipped counts: hyp "a a" → "aa", ref "a": P1 = 1/2, R1 = 1 → 5·0.5/(2 + 1) = 5/6
    expect(chrF('a a', 'a')).toBeCloseTo(5 / 6, 15);
    // β = 1 on the first pair: 2·(7/12)/(1 + 7/12) = 14/19
    expect(chrF('ab', 'abc', { beta: 1 })).toBeCloseTo(14 / 19, 15);
    expect(chrF('abc', 'xyz')).toBe(0);
    expect(chrF('', '')).toBe(1);
    expect(chrF('a', '')).toBe(0);
    expect(chrF('the cat', 'the cat')).toBe(1);
    expect(() => chrF('a', 'b', { order: 0 })).toThrow(InvalidArgumentError);
  });

  it('the matrix is asymmetric: row = hypothesis, column = reference', () => {
    const m = chrFMatrix(['ab', 'abc']);
    expect(m[1]).toBeCloseTo(7 / 11, 15);
    expect(m[2]).toBeCloseTo(7 / 8, 15);
    expect(m[0]).toBe(1);
    expect(m[3]).toBe(1);
  });
});

describe('parseUtility', () => {
  it('builds the lexical utilities from specs', async () => {
    const items = [{ response: 'ab' }, { response: 'abc' }];
    const c = parseUtility('chrf');
    expect(c).toMatchObject({ kind: 'chrf', bounds: [0, 1], symmetric: false });
    expect((await c.matrix(items))[1]).toBeCloseTo(7 / 11, 15);
    expect(parseUtility('ROUGE-L').kind).toBe('rouge-l');
    expect(parseUtility('hidden:blocks.0.hook_resid_post').sites).toEqual(['blocks.0.hook_resid_post']);
    expect(parseUtility('hidden', { site: 'blocks.1.hook_resid_post' }).sites).toEqual(['blocks.1.hook_resid_post']);
  });

  it('rejects unknown and malformed specs with one-line usage errors', () => {
    expect(() => parseUtility('bleu')).toThrow(UnknownUtilityError);
    expect(() => parseUtility('bleu')).toThrow('unknown utility "bleu"; utilities: hidden[:<site>], minilm, rouge-l, chrf');
    expect(() => parseUtility('hidden')).toThrow(/needs a site/);
    expect(() => parseUtility('chrf:3')).toThrow(/takes no argument/);
    let err: unknown;
    try { parseUtility('bleu'); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(UnknownUtilityError);
    expect((err as UnknownUtilityError).exitCode).toBe(2);
  });
});
