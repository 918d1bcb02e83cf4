import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmptyPromptsError } from '../../src/errors.js';
import { parsePrompts, readPrompts } from '../../src/pairs/prompts.js';
import { FileNotFoundError, InvalidDataError } from '../../src/errors.js';
import { REPO, tempDir } from '../helpers/paths.js';

describe('A/B prompt files', () => {
  it('reads one prompt per line and skips blank lines', () => {
    expect(parsePrompts('{"prompt": "a "}\n\n  \n{"prompt": "b", "id": 3}\r\n', 'p.jsonl')).toEqual(['a ', 'b']);
  });

  it('refuses an empty file with a typed error', () => {
    for (const text of ['', '\n\n', '   \n']) {
      const err = (() => { try { parsePrompts(text, 'empty.jsonl'); } catch (e) { return e; } return undefined; })();
      expect(err).toBeInstanceOf(EmptyPromptsError);
      expect((err as EmptyPromptsError).exitCode).toBe(1);
      expect((err as Error).message).toMatch(/^empty\.jsonl: no prompts/);
    }
  });

  it('names the line of a malformed entry', () => {
    expect(() => parsePrompts('{"prompt": "a"}\n{"prompt": "b"\n', 'x.jsonl')).toThrow(/^x\.jsonl:2: invalid JSON/);
    expect(() => parsePrompts('{"prompt": "a"}\n\n{"text": "b"}\n', 'x.jsonl')).toThrow(/^x\.jsonl:3: expected an object with a string "prompt"/);
    expect(() => parsePrompts('["a"]\n', 'x.jsonl')).toThrow(InvalidDataError);
    expect(() => parsePrompts('{"prompt": 3}\n', 'x.jsonl')).toThrow(/x\.jsonl:1/);
    expect(() => parsePrompts('{"prompt": "  "}\n', 'x.jsonl')).toThrow(/x\.jsonl:1: the prompt is empty/);
  });

  it('reads files and reports a missing one', () => {
    const tmp = tempDir();
    try {
      const path = join(tmp.path, 'p.jsonl');
      writeFileSync(path, '{"prompt": "Once upon a time "}\n');
      expect(readPrompts(path)).toEqual(['Once upon a time ']);
      expect(() => readPrompts(join(tmp.path, 'missing.jsonl'))).toThrow(FileNotFoundError);
    } finally {
      tmp.cleanup();
    }
  });

  it('ships ≥ 30 story openings and dev prompts, none of them in the pairs files or in each other', () => {
    const dir = join(REPO, 'vectors', 'tinystories-656k');
    const prompts = readPrompts(join(dir, 'ab-prompts.jsonl'));
    const dev = readPrompts(join(dir, 'ab-dev-prompts.jsonl'));
    expect(prompts.length).toBeGreaterThanOrEqual(30);
    expect(dev.length).toBeGreaterThanOrEqual(4);
    expect(new Set(prompts).size).toBe(prompts.length);
    const pairTexts = ['joy.pairs.jsonl', 'dialogue.pairs.jsonl'].flatMap((f) => {
      const lines = readFileLines(join(dir, f));
      return lines.map((l) => (JSON.parse(l) as { prompt?: string }).prompt?.trim() ?? '');
    });
    for (const p of [...prompts, ...dev]) expect(pairTexts).not.toContain(p.trim());
    for (const p of dev) expect(prompts).not.toContain(p);
  });
});

function readFileLines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim().length > 0);
}
