/**
 * The selector registry. A selector is registered as a SelectorSpec: its
 * pure function plus a declaration of what it reads (rewards, a utility
 * matrix, reference log-probs, lengths, β, an rng) and, when one is known, a
 * tighter analytic bound on KL(π_sel ‖ π_ref) than log N (the bound of any
 * rule that picks one of N draws from π_ref).
 *
 * Everything that selects (the `bon` command's `--method`, the A/B harness's
 * selector arms, β calibration, the library) looks selectors up here, and
 * builds the SelectionInput from `needs`, so a new selector is one file in
 * ./kinds/ that default-exports a SelectorSpec (see spec.ts), picked up by
 * `npx tsx scripts/registries.ts` into builtin.generated.ts (or one
 * `registerSelector` call from user code).
 */
import { InvalidArgumentError, UnknownSelectorError } from '../errors.js';
import { BUILTIN_SELECTORS } from './builtin.generated.js';
import type { Selector } from './selectors.js';
import type { KlBound, SelectorSpec } from './spec.js';

const REGISTRY = new Map<string, SelectorSpec>(BUILTIN_SELECTORS.map((s) => [s.name, s]));

/** Adds (or replaces) a selector. */
export function registerSelector(spec: SelectorSpec): void {
  if (!/^[a-z][a-z0-9-]*$/.test(spec.name)) throw new InvalidArgumentError(`selector names are lower-case words with dashes, got "${spec.name}"`);
  if (spec.name === 'sample') throw new InvalidArgumentError('"sample" names the one-sample A/B arms; pick another selector name');
  REGISTRY.set(spec.name, spec);
}

export function selectorSpec(name: string): SelectorSpec {
  const spec = REGISTRY.get(name);
  if (!spec) throw new UnknownSelectorError(name, selectorNames());
  return spec;
}

export function hasSelector(name: string): boolean {
  return REGISTRY.has(name);
}

export function selectorNames(): string[] {
  return [...REGISTRY.keys()];
}

export function getSelector(name: string): Selector {
  return selectorSpec(name).select;
}

/** KL(π_sel ‖ π_ref) ≤ log N for any rule that picks one of N draws from π_ref; tighter when the selector knows one. */
export function selectorKlBound(name: string, n: number): KlBound {
  return selectorSpec(name).klBound?.(n) ?? { value: Math.log(n), formula: 'log N' };
}
