/** The validation layer: strict numbers, lists, choices, token ids, paths; one message per mistake. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileNotFoundError, FileSystemError, InvalidArgumentError, OutputExistsError, UsageError } from '../../src/errors.js';
import {
  checkChoice, checkInputDir, checkInputFile, checkNumber, checkNumberList, checkOutputDir, checkOutputFile, checkTokenIds,
  describeRule, fsError, parseListText, parseNumberListOption, parseNumberOption, parseNumberText, quantity, quantityOption,
} from '../../src/validate/index.js';
import { tempDir } from '../helpers/paths.js';

describe('parseNumberText', () => {
  it('accepts plain decimal notation only', () => {
    expect(parseNumberText('1.5')).toBe(1.5);
    expect(parseNumberText(' -2e3 ')).toBe(-2000);
    expect(parseNumberText('.5')).toBe(0.5);
    expect(parseNumberText('-0')).toBe(0);
    for (const bad of ['', ' ', '0x10', 'Infinity', '-Infinity', 'NaN', '1_000', '1,5', '1e999', '2a', '--1', 'e3', '.']) expect(parseNumberText(bad), bad).toBeUndefined();
  });
  it('integers: no fractions, no exponents, safe range', () => {
    expect(parseNumberText('42', true)).toBe(42);
    for (const bad of ['1.0', '1e3', '9007199254740993', '']) expect(parseNumberText(bad, true), bad).toBeUndefined();
  });
});

describe('describeRule', () => {
  it('says what a number must be', () => {
    expect(describeRule({ above: 0, max: 1 })).toBe('a number in (0, 1]');
    expect(describeRule({ integer: true, min: 1 })).toBe('an integer ≥ 1');
    expect(describeRule({})).toBe('a finite number');
  });
});

describe('one message per mistake, on every surface', () => {
  it('library and CLI name the same rule', () => {
    expect(() => quantity('topP', 2)).toThrow(new InvalidArgumentError('topP must be a number in (0, 1], got 2'));
    expect(() => quantityOption('topP')('2')).toThrow(new UsageError('--top-p must be a number in (0, 1], got "2"'));
    expect(() => quantityOption('seed')('')).toThrow(UsageError);
    expect(() => quantity('n', 0.5)).toThrow(/n must be an integer in \[1, 4096\], got 0.5/);
    expect(() => quantity('temperature', Number.NaN)).toThrow(/temperature must be a number ≥ 0, got NaN/);
    expect(quantity('temperature', undefined)).toBeUndefined();
  });
  it('CLI errors are usage errors (exit 2), library errors are typed', () => {
    let err: unknown;
    try { parseNumberOption('--folds', 'x', { integer: true, min: 2 }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    expect(() => checkNumber('1', 'x')).toThrow(InvalidArgumentError);
  });
});

describe('lists', () => {
  it('refuses empty lists and empty entries', () => {
    expect(parseListText('--sites', 'a, b')).toEqual(['a', 'b']);
    expect(() => parseListText('--sites', '')).toThrow('--sites must not be empty');
    expect(() => parseListText('--sites', 'a,,b')).toThrow(/empty entry/);
    expect(() => parseListText('--sites', 'a,')).toThrow(/empty entry/);
    expect(() => parseListText('--sites', 'a,a', { unique: true })).toThrow(/twice/);
  });
  it('checks every number of a list', () => {
    expect(parseNumberListOption('--fractions', '0.1,0.2', { above: 0 })).toEqual([0.1, 0.2]);
    expect(() => parseNumberListOption('--fractions', '0.1,-0.2', { above: 0 })).toThrow('--fractions entries must be a number > 0, got "-0.2"');
    expect(() => checkNumberList([], 'fractions')).toThrow('fractions must not be empty');
    expect(() => checkNumberList([1, 'x'], 'fractions')).toThrow('fractions[1] must be a finite number, got "x"');
  });
});

describe('choices and token ids', () => {
  it('names the choices', () => {
    expect(checkChoice('add', 'operator', ['add', 'ablate'])).toBe('add');
    expect(() => checkChoice('bogus', 'positions', ['all', 'prompt'])).toThrow('positions must be one of all, prompt, got "bogus"');
  });
  it('token ids are integers in [0, vocab)', () => {
    expect(checkTokenIds([0, 5], 'ids', 10)).toEqual([0, 5]);
    expect(() => checkTokenIds([-1], 'ids', 10)).toThrow('ids[0] is not a token id of this model (an integer in [0, 10)), got -1');
    expect(() => checkTokenIds([10], 'ids', 10)).toThrow(InvalidArgumentError);
    expect(() => checkTokenIds([1.5], 'ids', 10)).toThrow(InvalidArgumentError);
    expect(() => checkTokenIds('1', 'ids', 10)).toThrow(InvalidArgumentError);
  });
});

describe('paths', () => {
  it('inputs must exist and be of the right kind', () => {
    const tmp = tempDir();
    try {
      const file = join(tmp.path, 'f.txt');
      writeFileSync(file, 'x');
      expect(checkInputFile(file)).toBe(file);
      expect(() => checkInputFile(join(tmp.path, 'missing'))).toThrow(FileNotFoundError);
      expect(() => checkInputFile(tmp.path, 'pairs file')).toThrow(/cannot read pairs file .*: it is a directory/);
      expect(() => checkInputDir(file, 'model directory')).toThrow(/is not a directory/);
    } finally { tmp.cleanup(); }
  });
  it('outputs: no directories, no files as parents, no overwrite without force', () => {
    const tmp = tempDir();
    try {
      const file = join(tmp.path, 'f.json');
      writeFileSync(file, '{}');
      mkdirSync(join(tmp.path, 'd'));
      expect(() => checkOutputFile(join(tmp.path, 'd'))).toThrow(FileSystemError);
      expect(() => checkOutputFile(join(file, 'x.json'))).toThrow(/is not a directory/);
      expect(() => checkOutputFile(file)).toThrow(OutputExistsError);
      expect(checkOutputFile(file, { force: true })).toBe(file);
      expect(checkOutputFile(join(tmp.path, 'new', 'deep', 'x.json'))).toContain('x.json');
      expect(() => checkOutputDir(file)).toThrow(/it is a file, not a directory/);
      writeFileSync(join(tmp.path, 'd', 'results.json'), '{}');
      expect(() => checkOutputDir(join(tmp.path, 'd'), { marker: 'results.json' })).toThrow(OutputExistsError);
    } finally { tmp.cleanup(); }
  });
  it('errno errors become one-line typed errors', () => {
    const e = Object.assign(new Error("EISDIR: illegal operation on a directory, open 'x'"), { code: 'EISDIR', path: 'x' });
    const t = fsError(e, 'out.json', 'write');
    expect(t).toBeInstanceOf(FileSystemError);
    expect(t.message).toBe('cannot write out.json: it is a directory');
    expect(t.exitCode).toBe(1);
  });
});
