/**
 * What a selector is, as the registry sees it: its pure function, what it
 * reads from a SelectionInput, and a KL bound when a tighter one than log N
 * is known.
 */
import type { Selector } from './selectors.js';

/** What a selector reads from its SelectionInput. */
export interface SelectorNeeds {
  /** R(y_i), the proxy reward. */
  rewards: boolean;
  /** The N×N utility matrix u(y_i, y_j). */
  utility: boolean;
  /** log π_ref(y_i | x), summed over tokens. */
  logprobs: boolean;
  /** |y_i| in tokens. */
  lengths: boolean;
  /** A regularisation strength β ≥ 0. */
  beta: boolean;
  /** A uniform [0, 1) generator (randomised selectors). */
  rng: boolean;
}

export interface KlBound { value: number; formula: string }

export interface SelectorSpec {
  /** Lower-case words with dashes, e.g. `mbr-bon`. */
  name: string;
  description: string;
  needs: Readonly<SelectorNeeds>;
  select: Selector;
  /** A bound on KL(π_sel ‖ π_ref) at N draws tighter than log N, if known. */
  klBound?: (n: number) => KlBound;
  /** Where help and messages list it among the built-ins, lower first; without one it follows them, by file name. */
  order?: number;
}

/** Declares needs from a list (the rest are false). */
export function needs(...what: (keyof SelectorNeeds)[]): SelectorNeeds {
  const all: SelectorNeeds = { rewards: false, utility: false, logprobs: false, lengths: false, beta: false, rng: false };
  for (const w of what) all[w] = true;
  return all;
}

