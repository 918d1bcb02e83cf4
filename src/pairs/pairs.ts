/**
 * Contrast pairs: JSONL, one object per line (GUIDE §3).
 *
 *   {"prompt"?: string, "chosen": string, "rejected": string, "system"?: string}
 *
 * `positive`/`negative` are accepted for `chosen`/`rejected`. A record that
 * also carries `"response"` is an instruction contrast (RAHF SCIT-style): the
 * same response under a good (`chosen`) and a bad (`rejected`) instruction.
 * Every line of a file is of one kind. `id` and `meta` are free-form and
 * ignored. Numeric score annotations, as preference datasets carry them
 * (`chosen_vader`, `rejected_vader`, `score_chosen`, `score_rejected`: keys
 * starting `chosen_`, `rejected_` or `score_` with a number), are kept in
 * `scores`. Any other key is an error, so typos do not pass silently.
 */
import { InvalidArgumentError, InvalidDataError } from '../errors.js';
import { readInputFile, shown } from '../validate/index.js';
import { sha256Bytes } from '../files/fs.js';

/** `responses`: chosen/rejected are two responses to one prompt. `instructions`: two instructions for one response. */
export type ContrastKind = 'responses' | 'instructions';

export interface ContrastPair {
  prompt?: string;
  system?: string;
  /** Preferred response (or, for instruction contrasts, the good instruction). */
  chosen: string;
  /** Dispreferred response (or the bad instruction). */
  rejected: string;
  /** Instruction contrasts only: the response read under both instructions. */
  response?: string;
  /** 1-based line number in the source file. */
  line: number;
  /** Numeric score annotations of the line (e.g. `chosen_vader`), when it has any. */
  scores?: Record<string, number>;
}

export interface PairDataset {
  /** File path or a label for in-memory data. */
  source: string;
  kind: ContrastKind;
  pairs: ContrastPair[];
  /** sha256 of the file's bytes. */
  sha256: string;
  /** Size of the file in bytes. */
  bytes: number;
}

const KNOWN_KEYS = new Set(['prompt', 'system', 'chosen', 'rejected', 'positive', 'negative', 'response', 'id', 'meta']);
const SCORE_KEY = /^(chosen|rejected|score)_[A-Za-z0-9_]+$/;

function fail(source: string, line: number, message: string): never {
  throw new InvalidDataError(`${source}:${line}: ${message}`);
}

function optionalString(obj: Record<string, unknown>, key: string, source: string, line: number): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') fail(source, line, `"${key}" must be a string, got ${typeof v}`);
  return v;
}

function side(obj: Record<string, unknown>, a: string, b: string, source: string, line: number): string {
  if (obj[a] !== undefined && obj[b] !== undefined) fail(source, line, `give "${a}" or "${b}", not both`);
  const key = obj[a] !== undefined ? a : b;
  const v = obj[key];
  if (v === undefined) fail(source, line, `missing "${a}" (or "${b}")`);
  if (typeof v !== 'string') fail(source, line, `"${key}" must be a string, got ${typeof v}`);
  if (v.trim().length === 0) fail(source, line, `"${key}" is empty`);
  return v;
}

/** Parses JSONL text into pairs; `source` names the file in error messages. */
export function parsePairs(text: string | Uint8Array, source = '<pairs>'): PairDataset {
  if (typeof text !== 'string' && !(text instanceof Uint8Array)) throw new InvalidArgumentError(`parsePairs() takes JSONL text or bytes, got ${shown(text)}`);
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const body = typeof text === 'string' ? text : Buffer.from(text).toString('utf8');
  const lines = body.split(/\r?\n/);
  const pairs: ContrastPair[] = [];
  const seen = new Map<string, number>();
  let kind: ContrastKind | undefined;
  let kindLine = 0;
  lines.forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (trimmed.length === 0) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (err) {
      fail(source, line, `not valid JSON (${(err as Error).message})`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail(source, line, 'expected a JSON object');
    const obj = parsed as Record<string, unknown>;
    let scores: Record<string, number> | undefined;
    for (const key of Object.keys(obj)) {
      if (KNOWN_KEYS.has(key)) continue;
      if (SCORE_KEY.test(key)) {
        const v = obj[key];
        if (typeof v !== 'number' || !Number.isFinite(v)) fail(source, line, `score annotation "${key}" must be a finite number, got ${JSON.stringify(v)}`);
        (scores ??= {})[key] = v;
        continue;
      }
      fail(source, line, `unknown key "${key}" (expected prompt, system, chosen/positive, rejected/negative, response, or numeric chosen_*/rejected_*/score_* annotations)`);
    }
    const chosen = side(obj, 'chosen', 'positive', source, line);
    const rejected = side(obj, 'rejected', 'negative', source, line);
    if (chosen === rejected) fail(source, line, 'chosen and rejected are identical: the pair has no contrast');
    const prompt = optionalString(obj, 'prompt', source, line);
    const system = optionalString(obj, 'system', source, line);
    const response = optionalString(obj, 'response', source, line);
    if (response !== undefined && response.trim().length === 0) fail(source, line, '"response" is empty');
    const lineKind: ContrastKind = response === undefined ? 'responses' : 'instructions';
    if (kind === undefined) { kind = lineKind; kindLine = line; }
    else if (kind !== lineKind) {
      fail(source, line, `mixes pair kinds: line ${kindLine} is ${kind === 'instructions' ? 'an instruction contrast (has "response")' : 'a response contrast'}, this line is not`);
    }
    const key = JSON.stringify([system ?? null, prompt ?? null, chosen, rejected, response ?? null]);
    const first = seen.get(key);
    if (first !== undefined) fail(source, line, `duplicate pair (same as line ${first})`);
    seen.set(key, line);
    const pair: ContrastPair = { chosen, rejected, line };
    if (prompt !== undefined) pair.prompt = prompt;
    if (system !== undefined) pair.system = system;
    if (response !== undefined) pair.response = response;
    if (scores) pair.scores = scores;
    pairs.push(pair);
  });
  if (pairs.length === 0) throw new InvalidDataError(`${source}: no pairs (the file is empty or holds only blank lines)`);
  return { source, kind: kind as ContrastKind, pairs, sha256: sha256Bytes(bytes), bytes: bytes.byteLength };
}

/** Reads and parses a pairs file. */
export function loadPairs(path: string): PairDataset {
  return parsePairs(readInputFile(path, 'pairs file'), path);
}
