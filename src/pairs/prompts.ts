/**
 * Prompt files, in three formats:
 *
 * - `jsonl` (A/B and Best-of-N runs): one `{"prompt": "..."}` object per
 *   line; blank lines are skipped, a line that is not such an object (or
 *   holds an empty prompt) is an InvalidDataError naming the line;
 * - `json`: a JSON array of strings, kept exactly (trailing spaces survive:
 *   with tokens that end in a space, a prompt should end with one); blank
 *   entries are dropped;
 * - `lines`: plain text, one prompt per non-empty line, trimmed.
 *
 * A file with no prompt is an EmptyPromptsError.
 */
import { readInputFile } from '../validate/index.js';
import { EmptyPromptsError, InvalidDataError } from '../errors.js';

export type PromptFormat = 'jsonl' | 'json' | 'lines';

const EXPECTED: Record<PromptFormat, string> = {
  jsonl: 'one {"prompt": "..."} object per line',
  json: 'a JSON array of strings',
  lines: 'one prompt per line',
};

function parseJsonl(text: string, source: string): string[] {
  const prompts: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim().length === 0) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new InvalidDataError(`${source}:${i + 1}: invalid JSON (${(err as Error).message})`);
    }
    const prompt = (value as { prompt?: unknown } | null)?.prompt;
    if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof prompt !== 'string') {
      throw new InvalidDataError(`${source}:${i + 1}: expected an object with a string "prompt"`);
    }
    if (prompt.trim().length === 0) throw new InvalidDataError(`${source}:${i + 1}: the prompt is empty`);
    prompts.push(prompt);
  });
  return prompts;
}

function parseJsonArray(text: string, source: string): string[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InvalidDataError(`${source}: invalid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(raw) || !raw.every((p) => typeof p === 'string')) throw new InvalidDataError(`${source}: expected ${EXPECTED.json}`);
  return raw.filter((p: string) => p.trim().length > 0);
}

/** Prompts from the text of a prompt file; `source` names the file in error messages. */
export function parsePrompts(text: string, source: string, format: PromptFormat = 'jsonl'): string[] {
  const prompts = format === 'jsonl' ? parseJsonl(text, source)
    : format === 'json' ? parseJsonArray(text, source)
      : text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  if (prompts.length === 0) throw new EmptyPromptsError(source, EXPECTED[format]);
  return prompts;
}

/** Prompts from a file (default: JSONL, as A/B runs take them). */
export function readPrompts(path: string, format: PromptFormat = 'jsonl'): string[] {
  return parsePrompts(readInputFile(path, 'prompts file').toString('utf8'), path, format);
}

/** A prompt list: a JSON array of strings for a `.json` file, else one prompt per line. */
export function loadPrompts(path: string): string[] {
  return readPrompts(path, path.endsWith('.json') ? 'json' : 'lines');
}
