import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileNotFoundError, InvalidDataError } from '../../src/errors.js';
import { loadPairs, parsePairs } from '../../src/pairs/pairs.js';
import { tempDir } from '../helpers/paths.js';

const line = (o: object) => JSON.stringify(o);

describe('parsePairs', () => {
  it('reads chosen/rejected and positive/negative lines, skipping blank lines', () => {
    const text = [
      line({ prompt: 'Once', chosen: 'a', rejected: 'b', system: 'sys' }),
      '',
      line({ positive: 'c', negative: 'd', id: 7, meta: { src: 'x' } }),
    ].join('\n');
    const ds = parsePairs(text, 'f.jsonl');
    expect(ds.kind).toBe('responses');
    expect(ds.pairs).toEqual([
      { prompt: 'Once', system: 'sys', chosen: 'a', rejected: 'b', line: 1 },
      { chosen: 'c', rejected: 'd', line: 3 },
    ]);
    expect(ds.sha256).toBe(createHash('sha256').update(text).digest('hex'));
    expect(ds.bytes).toBe(Buffer.byteLength(text));
  });

  it('reads instruction contrasts (a shared response)', () => {
    const ds = parsePairs(line({ prompt: 'Tell a story.', chosen: 'Be kind.', rejected: 'Be mean.', response: 'Once upon a time' }));
    expect(ds.kind).toBe('instructions');
    expect(ds.pairs[0]?.response).toBe('Once upon a time');
  });

  it('keeps numeric score annotations (chosen_*, rejected_*, score_*)', () => {
    const ds = parsePairs(line({ prompt: 'p', chosen: 'a', rejected: 'b', chosen_vader: 0.9, rejected_vader: -0.7, score_chosen: 8 }));
    expect(ds.pairs[0]?.scores).toEqual({ chosen_vader: 0.9, rejected_vader: -0.7, score_chosen: 8 });
  });

  const bad: [string, string, RegExp][] = [
    ['a non-numeric score annotation', line({ chosen: 'a', rejected: 'b', chosen_vader: 'high' }), /score annotation "chosen_vader" must be a finite number/],
    ['malformed JSON', `${line({ chosen: 'a', rejected: 'b' })}\n{"chosen": "a",`, /f\.jsonl:2: not valid JSON/],
    ['a non-object', '[1, 2]', /f\.jsonl:1: expected a JSON object/],
    ['a missing side', line({ chosen: 'a' }), /f\.jsonl:1: missing "rejected" \(or "negative"\)/],
    ['a non-string side', line({ chosen: 'a', rejected: 3 }), /"rejected" must be a string/],
    ['an empty side', line({ chosen: ' ', rejected: 'b' }), /"chosen" is empty/],
    ['both names for one side', line({ chosen: 'a', positive: 'a', rejected: 'b' }), /give "chosen" or "positive", not both/],
    ['an unknown key', line({ chosen: 'a', rejected: 'b', promt: 'x' }), /unknown key "promt"/],
    ['identical sides', line({ chosen: 'a', rejected: 'a' }), /identical/],
    ['mixed kinds', `${line({ chosen: 'a', rejected: 'b' })}\n${line({ chosen: 'a', rejected: 'b', response: 'r' })}`, /f\.jsonl:2: mixes pair kinds/],
    ['a duplicate pair', `${line({ chosen: 'a', rejected: 'b' })}\n${line({ chosen: 'x', rejected: 'y' })}\n${line({ chosen: 'a', rejected: 'b' })}`, /f\.jsonl:3: duplicate pair \(same as line 1\)/],
    ['an empty file', '\n  \n', /f\.jsonl: no pairs/],
  ];
  for (const [what, text, message] of bad) {
    it(`refuses ${what} with a typed error naming file and line`, () => {
      expect(() => parsePairs(text, 'f.jsonl')).toThrow(InvalidDataError);
      expect(() => parsePairs(text, 'f.jsonl')).toThrow(message);
    });
  }

  it('loads files and reports missing ones', () => {
    const dir = tempDir('pairs-');
    try {
      const path = join(dir.path, 'p.jsonl');
      writeFileSync(path, `${line({ chosen: 'a', rejected: 'b' })}\n`);
      expect(loadPairs(path).source).toBe(path);
      expect(() => loadPairs(join(dir.path, 'none.jsonl'))).toThrow(FileNotFoundError);
    } finally {
      dir.cleanup();
    }
  });
});
