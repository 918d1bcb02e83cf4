/**
 * Strict number validation, shared by the CLI (option text), the library
 * (numbers passed in) and the server (JSON bodies). One rule describes a
 * quantity once; every surface reports the same mistake with the same words.
 */

/** What a number must be: integral or not, and its bounds. */
export interface NumberRule {
  integer?: boolean;
  /** Inclusive lower bound. */
  min?: number;
  /** Exclusive lower bound. */
  above?: number;
  /** Inclusive upper bound. */
  max?: number;
  /** Exclusive upper bound. */
  below?: number;
}

const fmt = (x: number): string => (Number.isInteger(x) || Math.abs(x) >= 1e-3 ? String(x) : x.toExponential());

/** "an integer ≥ 1", "a number in (0, 1]", "a finite number". */
export function describeRule(rule: NumberRule): string {
  const noun = rule.integer ? 'an integer' : 'a number';
  const lo = rule.above !== undefined ? { v: rule.above, open: true } : rule.min !== undefined ? { v: rule.min, open: false } : undefined;
  const hi = rule.below !== undefined ? { v: rule.below, open: true } : rule.max !== undefined ? { v: rule.max, open: false } : undefined;
  if (lo && hi) return `${noun} in ${lo.open ? '(' : '['}${fmt(lo.v)}, ${fmt(hi.v)}${hi.open ? ')' : ']'}`;
  if (lo) return `${noun} ${lo.open ? '>' : '≥'} ${fmt(lo.v)}`;
  if (hi) return `${noun} ${hi.open ? '<' : '≤'} ${fmt(hi.v)}`;
  return rule.integer ? 'an integer' : 'a finite number';
}

/** Why `value` breaks `rule`, or undefined when it does not. */
export function numberProblem(value: unknown, rule: NumberRule): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) return `must be ${describeRule(rule)}`;
  if (rule.integer && !Number.isSafeInteger(value)) return `must be ${describeRule(rule)}`;
  if (rule.min !== undefined && value < rule.min) return `must be ${describeRule(rule)}`;
  if (rule.above !== undefined && value <= rule.above) return `must be ${describeRule(rule)}`;
  if (rule.max !== undefined && value > rule.max) return `must be ${describeRule(rule)}`;
  if (rule.below !== undefined && value >= rule.below) return `must be ${describeRule(rule)}`;
  return undefined;
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

/**
 * Parses option text strictly: plain decimal notation only (no hex, no
 * `Infinity`, no blanks, no trailing garbage, no empty string). Returns the
 * number, or undefined when the text is not one.
 */
export function parseNumberText(text: string, integer = false): number | undefined {
  const s = text.trim();
  if (!(integer ? INTEGER : DECIMAL).test(s)) return undefined;
  const n = Number(s);
  if (!Number.isFinite(n)) return undefined;
  if (integer && !Number.isSafeInteger(n)) return undefined;
  return n === 0 ? 0 : n; // no −0
}

/** Shows a received value in a message, briefly. */
export function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number') return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}
