/**
 * Value checks for library and server inputs. Each throws an
 * InvalidArgumentError whose one-line message names the argument, says what
 * it must be and what was given: `topP must be a number in (0, 1], got 2`.
 * The CLI reports the same mistake with the same words under the flag's name
 * (see cli.ts).
 */
import { InvalidArgumentError } from '../errors.js';
import { describeRule, numberProblem, shown, type NumberRule } from './number.js';

/** A number that satisfies `rule`. */
export function checkNumber(value: unknown, name: string, rule: NumberRule = {}): number {
  const problem = numberProblem(value, rule);
  if (problem) throw new InvalidArgumentError(`${name} ${problem}, got ${shown(value)}`);
  return value as number;
}

/** `checkNumber` when the value is given; undefined passes. */
export function optionalNumber(value: unknown, name: string, rule: NumberRule = {}): number | undefined {
  return value === undefined ? undefined : checkNumber(value, name, rule);
}

export interface ListRule {
  /** Fewest entries (default 1: an empty list is a mistake). */
  minItems?: number;
  maxItems?: number;
  unique?: boolean;
}

function checkCount(length: number, name: string, list: ListRule): void {
  const min = list.minItems ?? 1;
  if (length < min) throw new InvalidArgumentError(min === 1 ? `${name} must not be empty` : `${name} needs at least ${min} entries, got ${length}`);
  if (list.maxItems !== undefined && length > list.maxItems) throw new InvalidArgumentError(`${name} takes at most ${list.maxItems} entries, got ${length}`);
}

/** An array of numbers, each satisfying `rule`. */
export function checkNumberList(value: unknown, name: string, rule: NumberRule = {}, list: ListRule = {}): number[] {
  if (!Array.isArray(value)) throw new InvalidArgumentError(`${name} must be a list of ${describeRule(rule).replace(/^an? /, '')}s, got ${shown(value)}`);
  checkCount(value.length, name, list);
  const seen = new Set<number>();
  return value.map((v: unknown, i) => {
    const n = checkNumber(v, `${name}[${i}]`, rule);
    if (list.unique && seen.has(n)) throw new InvalidArgumentError(`${name} lists ${n} twice`);
    seen.add(n);
    return n;
  });
}

/** One of a fixed set of strings. */
export function checkChoice<T extends string>(value: unknown, name: string, choices: readonly T[]): T {
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  throw new InvalidArgumentError(`${name} must be one of ${choices.join(', ')}, got ${shown(value)}`);
}

export interface StringRule {
  /** Allow the empty string (default false). */
  empty?: boolean;
  maxLength?: number;
}

export function checkString(value: unknown, name: string, rule: StringRule = {}): string {
  if (typeof value !== 'string') throw new InvalidArgumentError(`${name} must be a string, got ${shown(value)}`);
  if (!rule.empty && value.length === 0) throw new InvalidArgumentError(`${name} must not be empty`);
  if (rule.maxLength !== undefined && value.length > rule.maxLength) throw new InvalidArgumentError(`${name} is longer than ${rule.maxLength} characters`);
  return value;
}

export function checkBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new InvalidArgumentError(`${name} must be true or false, got ${shown(value)}`);
  return value;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function checkObject(value: unknown, name: string): Record<string, unknown> {
  if (!isRecord(value)) throw new InvalidArgumentError(`${name} must be an object, got ${shown(value)}`);
  return value;
}

export function checkArray(value: unknown, name: string, list: ListRule = { minItems: 0 }): unknown[] {
  if (!Array.isArray(value)) throw new InvalidArgumentError(`${name} must be an array, got ${shown(value)}`);
  checkCount(value.length, name, list);
  return value;
}

/**
 * Token ids: integers in [0, vocabSize). With `vocabSize` undefined only
 * the integer and sign are checked.
 */
export function checkTokenIds(value: unknown, name: string, vocabSize: number | undefined, list: ListRule = { minItems: 0 }): number[] {
  const rule: NumberRule = vocabSize !== undefined ? { integer: true, min: 0, below: vocabSize } : { integer: true, min: 0 };
  if (!Array.isArray(value)) throw new InvalidArgumentError(`${name} must be an array of token ids, got ${shown(value)}`);
  checkCount(value.length, name, list);
  for (let i = 0; i < value.length; i++) {
    const v: unknown = value[i];
    if (numberProblem(v, rule)) throw new InvalidArgumentError(`${name}[${i}] is not a token id of this model (${describeRule(rule)}), got ${shown(v)}`);
  }
  return value as number[];
}

/** Keys of an options object that are not in `known` (typos are mistakes, not silence). */
export function checkKnownKeys(value: Record<string, unknown>, name: string, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key) && value[key] !== undefined) throw new InvalidArgumentError(`${name} has no option "${key}" (options: ${known.join(', ')})`);
  }
}
