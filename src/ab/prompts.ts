/**
 * Prompt sets for A/B runs: JSONL, one `{"prompt": "..."}` object per line.
 * Blank lines are skipped; a file with no prompt is an EmptyPromptsError; a
 * line that is not such an object is an InvalidDataError naming the line.
 */
import { readInputFile } from '../validate/index.js';
import { EmptyPromptsError, InvalidDataError } from '../errors.js';

/** Prompts from JSONL text; `source` names the file in error messages. */
export function parsePrompts(text: string, source: string): string[] {
  const prompts: string[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
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
  if (prompts.length === 0) throw new EmptyPromptsError(source);
  return prompts;
}

export function readPrompts(path: string): string[] {
  return parsePrompts(readInputFile(path, 'prompts file').toString('utf8'), path);
}
