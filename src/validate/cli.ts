/**
 * Option parsers for commander. Each returns a function that turns the
 * option's text into a value or throws a UsageError (exit 2) whose message
 * matches the library's for the same mistake, under the flag's name:
 * `--top-p must be a number in (0, 1], got "2"`.
 */
import { UsageError } from '../errors.js';
import { describeRule, numberProblem, parseNumberText, shown, type NumberRule } from './number.js';
import type { ListRule } from './check.js';

/** Parses and checks one number. */
export function parseNumberOption(flag: string, text: string, rule: NumberRule = {}): number {
  const n = parseNumberText(text, rule.integer);
  if (n === undefined || numberProblem(n, rule)) throw new UsageError(`${flag} must be ${describeRule(rule)}, got ${shown(text)}`);
  return n;
}

/** A commander argument parser for one number. */
export function numberOption(flag: string, rule: NumberRule = {}): (text: string) => number {
  return (text) => parseNumberOption(flag, text, rule);
}

/** Splits a comma-separated list strictly: no empty list, no empty entries. */
export function parseListText(flag: string, text: string, list: ListRule = {}): string[] {
  const trimmed = text.trim();
  const min = list.minItems ?? 1;
  if (trimmed === '') {
    if (min === 0) return [];
    throw new UsageError(`${flag} must not be empty`);
  }
  const items = trimmed.split(',').map((s) => s.trim());
  const blank = items.findIndex((s) => s === '');
  if (blank >= 0) throw new UsageError(`${flag} has an empty entry (entry ${blank + 1} of "${trimmed}")`);
  if (items.length < min) throw new UsageError(`${flag} needs at least ${min} entries, got ${items.length}`);
  if (list.maxItems !== undefined && items.length > list.maxItems) throw new UsageError(`${flag} takes at most ${list.maxItems} entries, got ${items.length}`);
  if (list.unique) {
    const dup = items.find((s, i) => items.indexOf(s) !== i);
    if (dup !== undefined) throw new UsageError(`${flag} lists ${shown(dup)} twice`);
  }
  return items;
}

/** A commander argument parser for a comma-separated list of strings. */
export function listOption(flag: string, list: ListRule = {}): (text: string) => string[] {
  return (text) => parseListText(flag, text, list);
}

/** Parses a comma-separated list of numbers, each checked against `rule`. */
export function parseNumberListOption(flag: string, text: string, rule: NumberRule = {}, list: ListRule = {}): number[] {
  const items = parseListText(flag, text, { ...list, unique: false });
  const values = items.map((item) => {
    const n = parseNumberText(item, rule.integer);
    if (n === undefined || numberProblem(n, rule)) throw new UsageError(`${flag} entries must be ${describeRule(rule)}, got ${shown(item)}`);
    return n;
  });
  if (list.unique) {
    const dup = values.find((v, i) => values.indexOf(v) !== i);
    if (dup !== undefined) throw new UsageError(`${flag} lists ${dup} twice`);
  }
  return values;
}

/** A commander argument parser for a comma-separated list of numbers. */
export function numberListOption(flag: string, rule: NumberRule = {}, list: ListRule = {}): (text: string) => number[] {
  return (text) => parseNumberListOption(flag, text, rule, list);
}

/** One of a fixed set of words. */
export function parseChoiceOption<T extends string>(flag: string, text: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(text)) return text as T;
  throw new UsageError(`${flag} must be one of ${choices.join(', ')}, got ${shown(text)}`);
}

export function choiceOption<T extends string>(flag: string, choices: readonly T[]): (text: string) => T {
  return (text) => parseChoiceOption(flag, text, choices);
}

/** A non-empty string option (an empty `--prompt ''` is a mistake, not a value). */
export function textOption(flag: string): (text: string) => string {
  return (text) => {
    if (text.length === 0) throw new UsageError(`${flag} must not be empty`);
    return text;
  };
}

/** Throws a UsageError when a required option is missing. */
export function requireOption<T>(value: T | undefined, flag: string, hint = ''): T {
  if (value === undefined) throw new UsageError(`${flag} is required${hint ? ` (${hint})` : ''}`);
  return value;
}
